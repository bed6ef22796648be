import CNftables
import NFTKernel

/// One `KernelExpression` as a libnftnl expression (owned by the rule it is added to).
enum ExpressionBuilder {
  static func build(_ expression: KernelExpression) -> OpaquePointer {
    let object = nftnl_expr_alloc(expression.name)!
    var setter = Setter(object: object)
    switch expression {
    case .meta(let key, let destination):
      setter[NFTNL_EXPR_META_KEY] = key
      setter[NFTNL_EXPR_META_DREG] = destination
    case .setMetaMark(let source):
      setter[NFTNL_EXPR_META_KEY] = UInt32(NFT_META_MARK.rawValue)
      setter[NFTNL_EXPR_META_SREG] = source
    case .payload(let base, let offset, let length, let destination):
      setter[NFTNL_EXPR_PAYLOAD_DREG] = destination
      setter[NFTNL_EXPR_PAYLOAD_BASE] = base
      setter[NFTNL_EXPR_PAYLOAD_OFFSET] = offset
      setter[NFTNL_EXPR_PAYLOAD_LEN] = length
    case .bitwise(let source, let destination, let mask, let xor):
      setter[NFTNL_EXPR_BITWISE_SREG] = source
      setter[NFTNL_EXPR_BITWISE_DREG] = destination
      setter[NFTNL_EXPR_BITWISE_LEN] = UInt32(mask.count)
      setter.data(NFTNL_EXPR_BITWISE_MASK, mask)
      setter.data(NFTNL_EXPR_BITWISE_XOR, xor)
    case .compare(let source, let op, let data):
      setter[NFTNL_EXPR_CMP_SREG] = source
      setter[NFTNL_EXPR_CMP_OP] = op.rawValue
      setter.data(NFTNL_EXPR_CMP_DATA, data)
    case .range(let source, let op, let from, let to):
      setter[NFTNL_EXPR_RANGE_SREG] = source
      setter[NFTNL_EXPR_RANGE_OP] = op.rawValue
      setter.data(NFTNL_EXPR_RANGE_FROM_DATA, from)
      setter.data(NFTNL_EXPR_RANGE_TO_DATA, to)
    case .lookup(let source, let set, let setID, let destination):
      setter[NFTNL_EXPR_LOOKUP_SREG] = source
      nftnl_expr_set_str(object, attribute(NFTNL_EXPR_LOOKUP_SET), set)
      setter[NFTNL_EXPR_LOOKUP_SET_ID] = setID
      if let destination { setter[NFTNL_EXPR_LOOKUP_DREG] = destination }
    case .immediate(let destination, let data):
      setter[NFTNL_EXPR_IMM_DREG] = destination
      setter.data(NFTNL_EXPR_IMM_DATA, data)
    case .verdict(let verdict):
      setter[NFTNL_EXPR_IMM_DREG] = UInt32(NFT_REG_VERDICT.rawValue)
      setter[NFTNL_EXPR_IMM_VERDICT] = UInt32(bitPattern: verdict.code)
      if let chain = verdict.chain { nftnl_expr_set_str(object, attribute(NFTNL_EXPR_IMM_CHAIN), chain) }
    case .counter:
      nftnl_expr_set_u64(object, attribute(NFTNL_EXPR_CTR_PACKETS), 0)
      nftnl_expr_set_u64(object, attribute(NFTNL_EXPR_CTR_BYTES), 0)
    case .conntrack(let key, let destination, let direction):
      setter[NFTNL_EXPR_CT_KEY] = key
      setter[NFTNL_EXPR_CT_DREG] = destination
      if let direction { nftnl_expr_set_u8(object, attribute(NFTNL_EXPR_CT_DIR), direction) }
    case .setConntrack(let key, let source):
      setter[NFTNL_EXPR_CT_KEY] = key
      setter[NFTNL_EXPR_CT_SREG] = source
    case .objectReference(let type, let name):
      setter[NFTNL_EXPR_OBJREF_IMM_TYPE] = type
      nftnl_expr_set_str(object, attribute(NFTNL_EXPR_OBJREF_IMM_NAME), name)
    case .fib(let result, let flags, let destination):
      setter[NFTNL_EXPR_FIB_DREG] = destination
      setter[NFTNL_EXPR_FIB_RESULT] = result
      setter[NFTNL_EXPR_FIB_FLAGS] = flags
    case .byteOrderToNetwork(let source, let destination, let length):
      setter[NFTNL_EXPR_BYTEORDER_SREG] = source
      setter[NFTNL_EXPR_BYTEORDER_DREG] = destination
      setter[NFTNL_EXPR_BYTEORDER_OP] = UInt32(NFT_BYTEORDER_HTON.rawValue)
      setter[NFTNL_EXPR_BYTEORDER_LEN] = length
      setter[NFTNL_EXPR_BYTEORDER_SIZE] = length
    case .updateSet(let source, let set, let setID):
      setter[NFTNL_EXPR_DYNSET_SREG_KEY] = source
      setter[NFTNL_EXPR_DYNSET_OP] = UInt32(NFT_DYNSET_OP_UPDATE.rawValue)
      nftnl_expr_set_str(object, attribute(NFTNL_EXPR_DYNSET_SET_NAME), set)
      setter[NFTNL_EXPR_DYNSET_SET_ID] = setID
      // 0: the set's own timeout. The kernel reports the attribute always, so it is sent too,
      // and a reload compares the rule as the kernel lists it.
      nftnl_expr_set_u64(object, attribute(NFTNL_EXPR_DYNSET_TIMEOUT), 0)
    case .numgen(let destination, let modulus):
      setter[NFTNL_EXPR_NG_DREG] = destination
      setter[NFTNL_EXPR_NG_MODULUS] = modulus
      setter[NFTNL_EXPR_NG_TYPE] = UInt32(NFT_NG_INCREMENTAL.rawValue)
      setter[NFTNL_EXPR_NG_OFFSET] = 0
    case .tcpOptionLoad(let option, let offset, let length, let destination):
      setter[NFTNL_EXPR_EXTHDR_DREG] = destination
      tcpOption(&setter, option: option, offset: offset, length: length)
    case .tcpOptionWrite(let option, let offset, let length, let source):
      setter[NFTNL_EXPR_EXTHDR_SREG] = source
      tcpOption(&setter, option: option, offset: offset, length: length)
    case .nat(let nat):
      setter[NFTNL_EXPR_NAT_TYPE] = nat.type
      setter[NFTNL_EXPR_NAT_FAMILY] = nat.family
      if let register = nat.addressMinimum { setter[NFTNL_EXPR_NAT_REG_ADDR_MIN] = register }
      if let register = nat.addressMaximum { setter[NFTNL_EXPR_NAT_REG_ADDR_MAX] = register }
      setter.ports(nat.ports, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFTNL_EXPR_NAT_REG_PROTO_MAX)
      if nat.flags != 0 { setter[NFTNL_EXPR_NAT_FLAGS] = nat.flags }
    case .masquerade(let ports, let flags):
      setter.ports(ports, NFTNL_EXPR_MASQ_REG_PROTO_MIN, NFTNL_EXPR_MASQ_REG_PROTO_MAX)
      if flags != 0 { setter[NFTNL_EXPR_MASQ_FLAGS] = flags }
    case .redirect(let ports, let flags):
      setter.ports(ports, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFTNL_EXPR_REDIR_REG_PROTO_MAX)
      if flags != 0 { setter[NFTNL_EXPR_REDIR_FLAGS] = flags }
    }
    return object
  }

  private static func tcpOption(_ setter: inout Setter, option: UInt8, offset: UInt32, length: UInt32) {
    nftnl_expr_set_u8(setter.object, attribute(NFTNL_EXPR_EXTHDR_TYPE), option)
    setter[NFTNL_EXPR_EXTHDR_OFFSET] = offset
    setter[NFTNL_EXPR_EXTHDR_LEN] = length
    setter[NFTNL_EXPR_EXTHDR_OP] = UInt32(NFT_EXTHDR_OP_TCPOPT.rawValue)
  }

  /// `setter[ATTRIBUTE] = value` for the u32 attributes that make up most expressions.
  private struct Setter {
    let object: OpaquePointer

    subscript(_ name: Int) -> UInt32 {
      get { nftnl_expr_get_u32(object, attribute(name)) }
      nonmutating set { nftnl_expr_set_u32(object, attribute(name), newValue) }
    }

    /// The port registers of nat, masq and redir, each under its own attribute numbers.
    func ports(_ ports: PortRegisters?, _ minimum: Int, _ maximum: Int) {
      guard let ports else { return }
      self[minimum] = ports.minimum
      if let register = ports.maximum { self[maximum] = register }
    }

    func data(_ name: Int, _ bytes: [UInt8]) {
      bytes.withUnsafeBytes { _ = nftnl_expr_set(object, attribute(name), $0.baseAddress, UInt32($0.count)) }
    }
  }
}
