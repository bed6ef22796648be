import NFTModel

/// Where the kernel finds a selector's value, how long and of what type it is, and which
/// protocol check must precede it.
struct Field {
  enum Source {
    case meta(UInt32)
    /// `nft_payload_bases` and the byte offset.
    case payload(base: UInt32, offset: UInt32)
    case conntrack(UInt32)
    case tcpOption(UInt8, offset: UInt32)
    case numgen(modulus: UInt32)
    /// `nft_fib_result` and `NFTA_FIB_F_*` flags.
    case fib(result: UInt32, flags: UInt32)
  }

  var selector: Selector
  var source: Source
  var type: ValueType
  var length: Int
  var requiredFamily: AddressFamily?
  var requiredTransport: UInt8?

  // The kernel's numbers (`nft_meta_keys`, `nft_ct_keys`, `nft_payload_bases`).
  static let metaMark: UInt32 = 3
  static let metaInputName: UInt32 = 6
  static let metaOutputName: UInt32 = 7
  static let metaNFProto: UInt32 = 15
  static let metaL4Proto: UInt32 = 16
  static let conntrackStatusKey: UInt32 = 2
  static let conntrackMark: UInt32 = 3
  static let conntrackLabels: UInt32 = 13
  static let networkHeader: UInt32 = 1
  static let transportHeader: UInt32 = 2
  static let maximumSegmentSizeOption: UInt8 = 2
  static let fibResultOutputName: UInt32 = 2  // NFT_FIB_RESULT_OIFNAME
  static let fibDestinationAddress: UInt32 = 1 << 1  // NFTA_FIB_F_DADDR

  init(_ selector: Selector) throws(LinearizationError) {
    self.selector = selector
    switch selector {
    case .meta(let key):
      switch key {
      case .iifname: (source, type) = (.meta(Self.metaInputName), .interfaceName)
      case .oifname: (source, type) = (.meta(Self.metaOutputName), .interfaceName)
      case .l4proto: (source, type) = (.meta(Self.metaL4Proto), .transportProtocol)
      case .nfproto: (source, type) = (.meta(Self.metaNFProto), .nfproto)
      case .mark: (source, type) = (.meta(Self.metaMark), .mark)
      }
    case .payload(let field):
      (source, type, requiredFamily, requiredTransport) = try Self.payload(field)
    case .conntrack(let key):
      switch key {
      case .originalSourceAddress(let family):
        (source, type) = (.conntrack(family == .ip ? 19 : 21), ValueType(family))
      case .originalDestinationAddress(let family):
        (source, type) = (.conntrack(family == .ip ? 20 : 22), ValueType(family))
      case .originalSourcePort: (source, type) = (.conntrack(11), .service)
      case .originalDestinationPort: (source, type) = (.conntrack(12), .service)
      case .status: (source, type) = (.conntrack(Self.conntrackStatusKey), .integer)
      }
    case .tcpMaxSegmentSize:
      (source, type) = (.tcpOption(Self.maximumSegmentSizeOption, offset: 2), .service)
      requiredTransport = 6
    case .numgenIncrement(let modulus):
      (source, type) = (.numgen(modulus: modulus), .integer)
    case .routeOutputName:
      (source, type) = (.fib(result: Self.fibResultOutputName, flags: Self.fibDestinationAddress), .interfaceName)
    }
    length = type.length
  }

  private static func payload(_ field: PayloadField) throws(LinearizationError)
    -> (Source, ValueType, AddressFamily?, UInt8?)
  {
    switch (field.header, field.field) {
    case (.ip, .saddr): return (.payload(base: networkHeader, offset: 12), .ipv4Address, .ip, nil)
    case (.ip, .daddr): return (.payload(base: networkHeader, offset: 16), .ipv4Address, .ip, nil)
    case (.ip6, .saddr): return (.payload(base: networkHeader, offset: 8), .ipv6Address, .ip6, nil)
    case (.ip6, .daddr): return (.payload(base: networkHeader, offset: 24), .ipv6Address, .ip6, nil)
    case (.th, .sport): return (.payload(base: transportHeader, offset: 0), .service, nil, nil)
    case (.th, .dport): return (.payload(base: transportHeader, offset: 2), .service, nil, nil)
    case (.tcp, .sport): return (.payload(base: transportHeader, offset: 0), .service, nil, 6)
    case (.tcp, .dport): return (.payload(base: transportHeader, offset: 2), .service, nil, 6)
    case (.udp, .sport): return (.payload(base: transportHeader, offset: 0), .service, nil, 17)
    case (.udp, .dport): return (.payload(base: transportHeader, offset: 2), .service, nil, 17)
    case (.tcp, .flags): return (.payload(base: transportHeader, offset: 13), .tcpFlags, nil, 6)
    default: throw .unsupported("the field \(field.header.rawValue) \(field.field.rawValue)")
    }
  }

  var isPayload: Bool { if case .payload = source { true } else { false } }
  /// `ct status` holds bits; a bare name tests one.
  var isBitSet: Bool { if case .conntrack(Self.conntrackStatusKey) = source { true } else { false } }
  var metaKey: UInt32? { if case .meta(let key) = source { key } else { nil } }
  /// Conntrack addresses and ports are read from the original direction; status has none.
  var conntrackDirection: UInt8? { isBitSet ? nil : 0 }

  /// A constant for this field: a value of its type, a flag name or a combination of flags.
  func bytes(of value: Expression) throws(LinearizationError) -> [UInt8] {
    switch (type, value) {
    case (.tcpFlags, .symbol(let name)):
      guard let bit = ValueEncoding.tcpFlag(name) else { throw .unsupported("the TCP flag \(name)") }
      return [bit]
    case (.tcpFlags, .bitwiseOr(let parts)):
      var combined: UInt8 = 0
      for part in parts { combined |= try bytes(of: part)[0] }
      return [combined]
    case (_, .symbol(let name)) where isBitSet:
      guard let bit = ValueEncoding.conntrackStatus(name) else { throw .unsupported("the ct status \(name)") }
      return try ValueEncoding.integerBytes(UInt64(bit), as: .integer)
    default:
      return try ValueEncoding.bytes(of: value, as: type)
    }
  }
}
