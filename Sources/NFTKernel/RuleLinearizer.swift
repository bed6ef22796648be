import IPAddressing
import NFTModel

/// Linearizes one rule: matches, the counter, then statements, allocating registers as nft
/// does. nft counts registers in 32-bit units from 1 and gives each value a whole 128-bit
/// register, so a rule's first value lands in `NFT_REG_1`, the next in `NFT_REG_2`; parts of
/// a concatenation take 32-bit registers (`NFT_REG32_01` …).
struct RuleLinearizer {
  var sets: SetBuilder
  private var expressions: [KernelExpression] = []
  private var nextRegister = 1
  /// The network family and transport protocol earlier matches have pinned down: nft inserts
  /// `meta nfproto` before an `ip` field (in an inet table) and `meta l4proto` before a
  /// `tcp` field only where they are not known yet.
  private var knownFamily: AddressFamily?
  private var knownTransport: UInt8?

  init(sets: SetBuilder) { self.sets = sets }

  mutating func linearize(_ rule: Rule) throws(LinearizationError) -> [KernelExpression] {
    expressions = []
    nextRegister = 1
    knownFamily = nil
    knownTransport = nil
    for match in rule.matches { try linearize(match) }
    if rule.counter { expressions.append(.counter) }
    for statement in rule.statements { try linearize(statement) }
    return expressions
  }

  // MARK: - Registers

  private mutating func allocate() -> Int {
    defer { nextRegister += 4 }
    return nextRegister
  }

  private mutating func release(_ count: Int = 1) { nextRegister -= 4 * count }

  /// nft's register numbering on the wire: a 128-bit register where the unit is aligned to
  /// one, a 32-bit register otherwise.
  static func kernelRegister(_ unit: Int) -> UInt32 {
    let offset = unit - 1
    return offset % 4 == 0 ? UInt32(1 + offset / 4) : UInt32(8 + offset)
  }

  // MARK: - Matches

  private mutating func linearize(_ match: Match) throws(LinearizationError) {
    let register = allocate()
    defer { release() }
    let source = Self.kernelRegister(register)
    if case .keys(let map) = match.right {
      // `KEY @map`: a lookup without a destination, which ends the rule when the map has no
      // element for the key.
      guard match.op == .implicit || match.op == .equal else {
        throw .unsupported("a map's keys compared with \(match.op.rawValue)")
      }
      try lookUp(match.left, inNamedMap: map, register: register, destination: nil)
      // The key's registers are free again once it is looked up, however many it took.
      nextRegister = register + 4
      return
    }
    switch match.left {
    case .selector(let selector):
      let field = try Field(selector)
      try compare(field, match.op, match.right, register: register)
      remember(field, match)
    case .bitwiseAnd(.selector(let selector), let mask):
      let field = try Field(selector)
      try load(field, into: register, length: field.length)
      let maskBytes = try field.bytes(of: mask)
      expressions.append(.bitwise(source: source, destination: source, mask: maskBytes,
                                  xor: [UInt8](repeating: 0, count: maskBytes.count)))
      expressions.append(.compare(source: source, op: try Self.compareOperator(match.op),
                                  data: try field.bytes(of: match.right)))
    default:
      throw .unsupported("a match on \(match.left)")
    }
  }

  private mutating func compare(_ field: Field, _ op: Match.Operator, _ value: Expression, register: Int)
    throws(LinearizationError)
  {
    let source = Self.kernelRegister(register)
    switch value {
    case .prefix(let address, let length) where length % 8 == 0:
      // A whole-byte prefix compares only its leading bytes; nft loads no more than those
      // from the packet.
      let bytes = Array(ValueEncoding.addressBytes(address).prefix(length / 8))
      try load(field, into: register, length: field.isPayload ? bytes.count : field.length)
      expressions.append(.compare(source: source, op: try Self.compareOperator(op), data: bytes))
    case .prefix(let address, let length):
      try load(field, into: register, length: field.length)
      let mask = ValueEncoding.prefixMask(length: length, width: field.length)
      let masked = zip(ValueEncoding.addressBytes(address), mask).map { $0 & $1 }
      expressions.append(.bitwise(source: source, destination: source, mask: mask,
                                  xor: [UInt8](repeating: 0, count: mask.count)))
      expressions.append(.compare(source: source, op: try Self.compareOperator(op), data: masked))
    case .integerRange, .addressRange:
      try load(field, into: register, length: field.length)
      let (low, high) = try ValueShape.bounds(of: value, as: field.type)
      switch op {
      case .implicit, .equal:
        expressions.append(.compare(source: source, op: .greaterOrEqual, data: low))
        expressions.append(.compare(source: source, op: .lessOrEqual, data: high))
      case .notEqual:
        expressions.append(.range(source: source, op: .notEqual, from: low, to: high))
      default:
        throw .unsupported("a range compared with \(op.rawValue)")
      }
    case .set(let members):
      guard op == .implicit else { throw .unsupported("a set compared with \(op.rawValue)") }
      try load(field, into: register, length: field.length)
      let (name, id) = try sets.addAnonymousSet(members, key: field.type, metaKey: field.metaKey)
      expressions.append(.lookup(source: source, set: name, setID: id, destination: nil))
    case .symbol(let flag) where field.isBitSet:
      // `ct status dnat`: the bit is set.
      try load(field, into: register, length: field.length)
      let mask = try field.bytes(of: .symbol(flag))
      let zero = [UInt8](repeating: 0, count: mask.count)
      expressions.append(.bitwise(source: source, destination: source, mask: mask, xor: zero))
      expressions.append(.compare(source: source, op: op == .notEqual ? .equal : .notEqual, data: zero))
    default:
      try load(field, into: register, length: field.length)
      expressions.append(.compare(source: source, op: try Self.compareOperator(op), data: try field.bytes(of: value)))
    }
  }

  /// Records what an equality match established, for later implicit dependencies.
  private mutating func remember(_ field: Field, _ match: Match) {
    guard match.op == .implicit || match.op == .equal else { return }
    switch (field.selector, match.right) {
    case (.meta(.nfproto), .symbol("ipv4")): knownFamily = .ip
    case (.meta(.nfproto), .symbol("ipv6")): knownFamily = .ip6
    case (.meta(.l4proto), let value):
      if let bytes = try? field.bytes(of: value), bytes.count == 1 { knownTransport = bytes[0] }
    default: break
    }
  }

  static func compareOperator(_ op: Match.Operator) throws(LinearizationError) -> CompareOperator {
    switch op {
    case .implicit, .equal: .equal
    case .notEqual: .notEqual
    case .less: .less
    case .lessOrEqual: .lessOrEqual
    case .greater: .greater
    case .greaterOrEqual: .greaterOrEqual
    }
  }

  // MARK: - Loading values

  /// Loads a field into a register, after the protocol check nft would add for it.
  private mutating func load(_ field: Field, into register: Int, length: Int) throws(LinearizationError) {
    let destination = Self.kernelRegister(register)
    try addDependency(of: field, register: destination)
    switch field.source {
    case .meta(let key):
      expressions.append(.meta(key: key, destination: destination))
    case .payload(let base, let offset):
      expressions.append(.payload(base: base, offset: offset, length: UInt32(length), destination: destination))
    case .conntrack(let key):
      expressions.append(.conntrack(key: key, destination: destination, direction: field.conntrackDirection))
    case .tcpOption(let option, let offset):
      expressions.append(.tcpOptionLoad(option: option, offset: offset, length: UInt32(length),
                                        destination: destination))
    case .numgen(let modulus):
      expressions.append(.numgen(destination: destination, modulus: modulus))
    case .fib(let result, let flags):
      expressions.append(.fib(result: result, flags: flags, destination: destination))
    }
  }

  private mutating func addDependency(of field: Field, register: UInt32) throws(LinearizationError) {
    if let family = field.requiredFamily, knownFamily != family {
      expressions.append(.meta(key: Field.metaNFProto, destination: register))
      expressions.append(.compare(source: register, op: .equal, data: [family == .ip ? 2 : 10]))
      knownFamily = family
    }
    if let transport = field.requiredTransport, knownTransport != transport {
      expressions.append(.meta(key: Field.metaL4Proto, destination: register))
      expressions.append(.compare(source: register, op: .equal, data: [transport]))
      knownTransport = transport
    }
  }

  /// Computes an expression into a register; returns the shape of what it produced.
  @discardableResult
  private mutating func evaluate(_ value: Expression, into register: Int, as type: ValueType)
    throws(LinearizationError) -> ValueShape
  {
    let destination = Self.kernelRegister(register)
    switch value {
    case .selector(let selector):
      let field = try Field(selector)
      try load(field, into: register, length: field.length)
      return ValueShape([field.type])
    case .lookup(let key, .named(let name)):
      return try lookUp(key, inNamedMap: name, register: register, destination: destination)
    case .lookup(.concatenation, .inline):
      throw .unsupported("an inline map keyed by a concatenation")
    case .lookup(let key, .inline(let elements)):
      let keyField: Field
      if case .selector(let selector) = key { keyField = try Field(selector) } else {
        throw .unsupported("a map keyed by \(key)")
      }
      try load(keyField, into: register, length: keyField.length)
      let (name, id, keyShape, data) = try inlineMap(elements, key: keyField, value: type)
      if keyShape.isTurnedRound {
        expressions.append(.byteOrderToNetwork(source: destination, destination: destination, length: UInt32(keyField.length)))
      }
      expressions.append(.lookup(source: destination, set: name, setID: id, destination: destination))
      return data
    default:
      expressions.append(.immediate(destination: destination, data: try ValueEncoding.bytes(of: value, as: type)))
      return ValueShape([type])
    }
  }

  /// Loads `iifname . ip daddr . meta l4proto . th dport` into consecutive 32-bit registers
  /// from `register` on, each part register-aligned, a part `ip saddr & MASK` masked in place.
  /// Like nft, it checks the protocols the parts depend on first, so no check lands between
  /// them.
  private mutating func loadConcatenation(_ parts: [Expression], into register: Int) throws(LinearizationError) {
    var fields: [(field: Field, mask: Expression?)] = []
    for part in parts {
      switch part {
      case .selector(let selector): fields.append((try Field(selector), nil))
      case .bitwiseAnd(.selector(let selector), let mask): fields.append((try Field(selector), mask))
      default: throw .unsupported("\(part) in a concatenation")
      }
    }
    for (field, _) in fields { try addDependency(of: field, register: Self.kernelRegister(register)) }
    var unit = register
    for (field, mask) in fields {
      try load(field, into: unit, length: field.length)
      if let mask {
        let maskBytes = try field.bytes(of: mask)
        let source = Self.kernelRegister(unit)
        expressions.append(.bitwise(source: source, destination: source, mask: maskBytes,
                                    xor: [UInt8](repeating: 0, count: maskBytes.count)))
      }
      unit += ValueShape.registerAligned(field.length) / 4
    }
    // Later values must not overwrite the key's registers: round up to a whole 128-bit register.
    nextRegister = max(nextRegister, register + (unit - register + 3) / 4 * 4)
  }

  /// Loads `key` (a field, or a concatenation of them) from `register` on and looks it up in
  /// the named map: into `destination`, or with none as a match, which ends the rule when the
  /// map has no element for the key. Returns the shape of the map's data.
  @discardableResult
  private mutating func lookUp(_ key: Expression, inNamedMap name: String, register: Int, destination: UInt32?)
    throws(LinearizationError) -> ValueShape
  {
    let shape = try loadKey(key, ofNamedMap: name, into: register)
    expressions.append(.lookup(source: Self.kernelRegister(register), set: name, setID: shape.id, destination: destination))
    return shape.data
  }

  /// Loads `key` (a field, or a concatenation of them) from `register` on, for the named map or
  /// set whose shape it answers: a lookup, or an update of a dynamic set.
  private mutating func loadKey(_ key: Expression, ofNamedMap name: String, into register: Int)
    throws(LinearizationError) -> (key: ValueShape, data: ValueShape, id: UInt32)
  {
    switch key {
    case .concatenation(let parts):
      try loadConcatenation(parts, into: register)
    case .selector(let selector):
      let field = try Field(selector)
      try load(field, into: register, length: field.length)
    default:
      throw .unsupported("a map keyed by \(key)")
    }
    return try sets.shape(ofMap: name)
  }

  /// An anonymous map written inline, created for the rule.
  private mutating func inlineMap(_ elements: [MapElement], key: Field, value: ValueType)
    throws(LinearizationError) -> (String, UInt32, key: ValueShape, data: ValueShape)
  {
    // Prefix-to-prefix maps (`bimap`) are interval maps with range data; a counter's ranges
    // (`numgen inc mod 6 map { 0-2 : 10.3.4.1, 3-5 : 10.3.4.2 }`) an interval map of values,
    // whose host-order keys are turned round.
    let isPrefixMap = elements.contains { if case .prefix = $0.value { true } else { false } }
    let hasRangeKeys = elements.contains { if case .integerRange = $0.key { true } else { false } }
    var keyShape = ValueShape([key.type], interval: isPrefixMap || hasRangeKeys)
    keyShape.isTurnedRound = hasRangeKeys && key.type.byteOrder == 1
    let dataShape = ValueShape([value], interval: isPrefixMap)
    let (name, id) = try sets.addAnonymousMap(elements, key: keyShape, data: dataShape)
    return (name, id, keyShape, dataShape)
  }

  // MARK: - Statements

  private mutating func linearize(_ statement: Statement) throws(LinearizationError) {
    switch statement {
    case .nat(let nat):
      try linearize(nat)
    case .setConntrackHelper(let name):
      expressions.append(.objectReference(type: 3, name: name))
    case .setConntrackTimeout(let name):
      expressions.append(.objectReference(type: 7, name: name))
    case .setMaximumSegmentSize(let size):
      let register = allocate()
      defer { release() }
      let source = Self.kernelRegister(register)
      expressions.append(.immediate(destination: source, data: [UInt8(size >> 8), UInt8(size & 0xff)]))
      expressions.append(.tcpOptionWrite(option: Field.maximumSegmentSizeOption, offset: 2, length: 2, source: source))
    case .setMark(let scope, let value):
      let register = allocate()
      defer { release() }
      let source = Self.kernelRegister(register)
      expressions.append(.immediate(destination: source, data: try ValueEncoding.integerBytes(UInt64(value), as: .mark)))
      expressions.append(scope == .connection ? .setConntrack(key: Field.conntrackMark, source: source)
                                              : .setMetaMark(source: source))
    case .setConntrackLabel(let bit):
      // The 128 label bits as the kernel stores them: bit n is bit n % 8 of byte n / 8.
      var labels = [UInt8](repeating: 0, count: 16)
      labels[Int(bit / 8)] = 1 << (bit % 8)
      let register = allocate()
      defer { release() }
      let source = Self.kernelRegister(register)
      expressions.append(.immediate(destination: source, data: labels))
      expressions.append(.setConntrack(key: Field.conntrackLabels, source: source))
    case .verdict(let verdict):
      expressions.append(.verdict(Self.kernelVerdict(verdict)))
    case .updateSet(let name, let key):
      let register = allocate()
      defer { release() }
      let shape = try loadKey(key, ofNamedMap: name, into: register)
      expressions.append(.updateSet(source: Self.kernelRegister(register), set: name, setID: shape.id))
      // The key's registers are free again once it is stored, however many it took.
      nextRegister = register + 4
    case .verdictMap(let key, let entries):
      guard case .selector(let selector) = key else { throw .unsupported("a verdict map keyed by \(key)") }
      let field = try Field(selector)
      let register = allocate()
      defer { release() }
      try load(field, into: register, length: field.length)
      let (name, id) = try sets.addVerdictMap(entries.map { ($0.key, Self.kernelVerdict($0.verdict)) },
                                              key: field.type)
      expressions.append(.lookup(source: Self.kernelRegister(register), set: name, setID: id, destination: 0))
    }
  }

  static func kernelVerdict(_ verdict: Verdict) -> KernelVerdict {
    switch verdict {
    case .accept: .accept
    case .return: .return
    case .jump(let chain): .jump(chain)
    case .goto(let chain): .goto(chain)
    }
  }

  /// `NF_NAT_RANGE_*` bits.
  private enum RangeFlag {
    static let protocolSpecified: UInt32 = 0x02
    static let random: UInt32 = 0x04
    static let persistent: UInt32 = 0x08
    static let fullyRandom: UInt32 = 0x10
    static let netmap: UInt32 = 0x40
  }

  private mutating func linearize(_ nat: NATStatement) throws(LinearizationError) {
    let allocatedBefore = nextRegister
    defer { nextRegister = allocatedBefore }
    var flags = nat.flags.reduce(UInt32(0)) { bits, flag in
      switch flag {
      case .random: bits | RangeFlag.random
      case .fullyRandom: bits | RangeFlag.fullyRandom
      case .persistent: bits | RangeFlag.persistent
      }
    }
    if nat.mapsPrefix { flags |= RangeFlag.netmap }

    var addressMinimum: Int?
    var addressMaximum: Int?
    var ports: (minimum: Int, maximum: Int?)?
    if let address = nat.address {
      guard let family = nat.family else { throw .unsupported("an address without a family") }
      let type = ValueType(family)
      let minimum = allocate()
      addressMinimum = minimum
      if case .addressRange(let low, let high) = address {
        let maximum = allocate()
        addressMaximum = maximum
        try evaluate(.address(low), into: minimum, as: type)
        try evaluate(.address(high), into: maximum, as: type)
      } else {
        let produced = try evaluate(address, into: minimum, as: type)
        // A map's data may hold more than an address: a range (`prefix`) and ports, laid out
        // in consecutive 32-bit registers after the address.
        let addressUnits = type.length / 4
        if produced.types.count > 1 {
          ports = (minimum + addressUnits, nil)
        }
        if produced.isInterval {
          let maximum = minimum + produced.length / 2 / 4
          addressMaximum = maximum
          if produced.types.count > 1 { ports = (minimum + addressUnits, maximum + addressUnits) }
        }
      }
    }
    if let port = nat.port {
      flags |= RangeFlag.protocolSpecified
      let minimum = allocate()
      if case .integerRange(let low, let high) = port {
        let maximum = allocate()
        try evaluate(.integer(low), into: minimum, as: .service)
        try evaluate(.integer(high), into: maximum, as: .service)
        ports = (minimum, maximum)
      } else {
        try evaluate(port, into: minimum, as: .service)
        ports = (minimum, nil)
      }
    }
    let portRegisters = ports.map {
      PortRegisters(minimum: Self.kernelRegister($0.minimum), maximum: $0.maximum.map(Self.kernelRegister))
    }
    switch nat.kind {
    case .masquerade:
      expressions.append(.masquerade(ports: portRegisters, flags: flags))
    case .redirect:
      expressions.append(.redirect(ports: portRegisters, flags: flags))
    case .snat, .dnat:
      expressions.append(.nat(NATExpression(
        type: nat.kind == .snat ? 0 : 1, family: nat.family == .ip6 ? 10 : 2,
        addressMinimum: addressMinimum.map(Self.kernelRegister), addressMaximum: addressMaximum.map(Self.kernelRegister),
        ports: portRegisters, flags: flags)))
    }
  }
}
