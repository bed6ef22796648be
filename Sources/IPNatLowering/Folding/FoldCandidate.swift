import IPAddressing
import NFTModel

/// A NAT rule that one element of a map can stand in for: it matches one exact interface, a
/// network on its key side (the destination for dnat, the source for snat), and optionally
/// protocols and one destination port, and translates to one address (with a port or a port
/// range). Rules of one shape differ only in those values, so a single
/// `snat ip to oifname . ip saddr map @m` rule does the work of all of them at the cost of one
/// hash lookup, as IPFilter's own per-prefix-length hash tables do.
///
/// A class, so that the lists folding keeps of a chain's candidates (in search order, per
/// group) share one copy of each: a large file has one per rule.
final class FoldCandidate: Sendable {
  struct Shape: Hashable {
    var interface: Selector.MetaKey
    var addressField: PayloadField
    var prefixLength: Int
    var matchesProtocol: Bool
    var matchesPort: Bool
    var nat: NATStatement.Kind
    var family: AddressFamily
    var flags: [NATStatement.Flag]
    var translation: Translation

    /// Folding looks shapes up several times per rule: hashing the fields that tell the
    /// shapes of one chain apart is enough (equality still compares them all). The address
    /// field is hashed as whether it is the destination: a `String`-backed enum hashes its name.
    func hash(into hasher: inout Hasher) {
      hasher.combine(prefixLength)
      hasher.combine(translation)
      hasher.combine(matchesPort)
      hasher.combine(addressField.field == .daddr)
    }
  }

  enum Translation: Hashable {
    case address, addressAndPort, addressAndPortRange

    /// Data that is a concatenation, which nft 1.0.6 cannot read from JSON.
    var isConcatenated: Bool { self != .address }
  }

  let shape: Shape
  let network: AddressPrefix
  let interface: String
  let port: UInt64?
  /// The protocols it matches, one map element each; empty when the shape has none.
  let protocols: [UInt8]
  /// Its map keys, and elements: one per protocol, or one for a shape without protocols.
  var keyCount: Int { max(1, protocols.count) }
  /// The new address, and the new port or ports: kept as numbers, and made a map value only
  /// when the map is built, because a folder holds tens of thousands of candidates at once.
  let target: IPAddress
  let targetPorts: ClosedRange<UInt16>?
  /// Where the rule came from: a folded rule names its members' lines, and a candidate that
  /// stays a rule gets it back (``rule``).
  let origin: Origin?

  /// `nil` unless every match and statement of `rule` is one the shape describes.
  convenience init?(_ rule: NFTModel.Rule, chain: NATChain) {
    var writtenAsRule = false
    self.init(rule, chain: chain, writtenAsRule: &writtenAsRule)
  }

  /// As above; `writtenAsRule` tells whether ``rule`` gives `rule` back as it is. That is
  /// decided while reading the matches, rather than by building them again and comparing,
  /// because lowering asks it of nearly every rule of a large file.
  private convenience init?(_ rule: NFTModel.Rule, chain: NATChain, writtenAsRule: inout Bool) {
    guard rule.counter, rule.statements.count == 1, case .nat(let nat) = rule.statements[0], let family = nat.family
    else { return nil }
    let interfaceKey: Selector.MetaKey = chain == .dstnat ? .iifname : .oifname
    let addressField = PayloadField(family == .ip ? .ip : .ip6, chain == .dstnat ? .daddr : .saddr)

    var interface: String?
    var network: AddressPrefix?
    var protocols: [UInt8]?
    var protocolValue: Expression?
    var port: UInt64?
    // ``rule`` writes the interface, the address, the protocols and the port, in that order.
    var inWrittenOrder = true
    for (index, match) in rule.matches.enumerated() {
      guard match.op == .implicit, case .selector(let selector) = match.left else { return nil }
      switch (selector, match.right) {
      case (.meta(interfaceKey), .string(let name)) where interface == nil && !name.hasSuffix("*"):
        interface = name
        inWrittenOrder = inWrittenOrder && index == 0
      case (.meta(.nfproto), _):
        inWrittenOrder = false
        continue
      case (.payload(addressField), .address(let address)) where network == nil:
        network = AddressPrefix(address, length: address.family.width)
        inWrittenOrder = inWrittenOrder && index == 1
      case (.payload(addressField), .prefix(let address, let length)) where network == nil:
        let prefix = AddressPrefix(address, length: length)
        network = prefix
        // ``rule`` writes a host as an address, and a prefix without host bits.
        inWrittenOrder = inWrittenOrder && index == 1 && length != address.family.width && prefix.address == address
      case (.meta(.l4proto), let value) where protocols == nil:
        guard let numbers = Footprint.protocolNumbers(value) else { return nil }
        protocols = numbers
        protocolValue = value
        inWrittenOrder = inWrittenOrder && index == 2
      case (.payload(PayloadField(.th, .dport)), .integer(let number)) where port == nil:
        port = number
        // Last: after the protocols if there are any, else third.
        inWrittenOrder = inWrittenOrder && index == rule.matches.count - 1 && index >= 2
      default:
        return nil
      }
    }
    guard let interface, let network else { return nil }
    self.init(chain: chain, interface: interface, network: network, protocols: protocols, port: port, nat, origin: rule.origin)
    writtenAsRule = inWrittenOrder && (protocolValue == nil || protocolValue == protocolMatch.right)
    assert(writtenAsRule == matchesAreWrittenAs(rule.matches), "the reading of the matches and their writing disagree")
  }

  /// The candidate of a rule with these matches and this NAT statement, or `nil` if no map can
  /// stand for it. `protocols`: `nil` for a rule that matches none. `interface` is an exact
  /// name, as `InterfaceNames` gives it (never an nft wildcard).
  ///
  /// Lowering makes most candidates with this directly from the parts of an ipnat rule
  /// (``RuleLowering/foldCandidate(_:interface:network:protocols:port:_:matches:)``): it gives
  /// the same candidate as building the rule and reading it back, for a fraction of the work.
  init?(chain: NATChain, interface: String, network: AddressPrefix, protocols: [UInt8]?, port: UInt64?, _ nat: NATStatement,
        origin: Origin?) {
    guard nat.kind == (chain == .dstnat ? .dnat : .snat), let family = nat.family, !nat.mapsPrefix,
      case .address(let target)? = nat.address, network.address.family == target.family
    else { return nil }
    let translation: Translation
    switch nat.port {
    case nil:
      (translation, targetPorts) = (.address, nil)
    case .integer(let number)? where number <= UInt16.max:
      (translation, targetPorts) = (.addressAndPort, UInt16(number)...UInt16(number))
    case .integerRange(let low, let high)? where low <= high && high <= UInt16.max:
      (translation, targetPorts) = (.addressAndPortRange, UInt16(low)...UInt16(high))
    default: return nil
    }
    // nft translates ports only after a transport protocol match.
    if (port != nil || translation.isConcatenated) && protocols == nil { return nil }
    self.target = target
    let interfaceKey: Selector.MetaKey = chain == .dstnat ? .iifname : .oifname
    let addressField = PayloadField(family == .ip ? .ip : .ip6, chain == .dstnat ? .daddr : .saddr)
    shape = Shape(interface: interfaceKey, addressField: addressField, prefixLength: network.length,
                  matchesProtocol: protocols != nil, matchesPort: port != nil, nat: nat.kind, family: family,
                  flags: nat.flags, translation: translation)
    self.network = network
    self.protocols = Self.sharedList(protocols ?? [])
    self.interface = interface
    self.port = port
    self.origin = origin
  }

  /// The protocol lists of nearly every rule, made once: a folder holds a list per candidate,
  /// and a list of its own would cost a candidate a sixth of its size.
  private static let commonProtocolLists: [[UInt8]] = [[6], [17], [6, 17]]

  private static func sharedList(_ protocols: [UInt8]) -> [UInt8] {
    commonProtocolLists.first { $0 == protocols } ?? protocols
  }

  /// A candidate that stands for `rule` exactly: ``rule`` gives it back as it was, so the rule
  /// itself need not be kept while the chain is folded (``FoldEntry``). `nil` for a rule the
  /// candidate only describes: one with an `nfproto` match, its matches in another order, or
  /// a prefix with host bits.
  static func exactly(_ rule: NFTModel.Rule, chain: NATChain) -> FoldCandidate? {
    var writtenAsRule = false
    guard let candidate = FoldCandidate(rule, chain: chain, writtenAsRule: &writtenAsRule), writtenAsRule else { return nil }
    return candidate
  }

  /// The rule, as lowering writes one of this shape: interface, address, protocol and port
  /// matches in that order, then the NAT statement.
  var rule: NFTModel.Rule {
    var matches: [Match] = []
    matches.reserveCapacity(4)
    matches.append(interfaceMatch)
    matches.append(addressMatch)
    if shape.matchesProtocol { matches.append(protocolMatch) }
    if let port { matches.append(portMatch(port)) }
    var translatedPort: Expression?
    if let targetPorts {
      let (low, high) = (UInt64(targetPorts.lowerBound), UInt64(targetPorts.upperBound))
      translatedPort = shape.translation == .addressAndPortRange ? .integerRange(low, high) : .integer(low)
    }
    let nat = NATStatement(shape.nat, family: shape.family, address: .address(target), port: translatedPort, flags: shape.flags)
    return NFTModel.Rule(matches: matches, statements: [.nat(nat)], origin: origin)
  }

  /// Whether ``rule`` gives back `matches` as they are, by writing them: what the initializer
  /// decides as it reads is checked against it in debug builds. The statement, counter and origin
  /// need no check: the initializer reads every field of them.
  private func matchesAreWrittenAs(_ matches: [Match]) -> Bool {
    let count = 2 + (shape.matchesProtocol ? 1 : 0) + (port == nil ? 0 : 1)
    guard matches.count == count, matches[0] == interfaceMatch, matches[1] == addressMatch else { return false }
    if shape.matchesProtocol, matches[2] != protocolMatch { return false }
    if let port, matches[count - 1] != portMatch(port) { return false }
    return true
  }

  private var interfaceMatch: Match { Match(.meta(shape.interface), .string(interface)) }

  private var addressMatch: Match {
    let address: Expression =
      network.length == network.address.family.width ? .address(network.address) : .prefix(network.address, length: network.length)
    return Match(.payload(shape.addressField), address)
  }

  private var protocolMatch: Match {
    let values = protocols.map(transportExpression)
    return Match(.meta(.l4proto), values.count == 1 ? values[0] : .set(values))
  }

  private func portMatch(_ port: UInt64) -> Match { Match(.payload(PayloadField(.th, .dport)), .integer(port)) }

  /// Whether the map it would go into can be declared where concatenated data is or is not
  /// allowed (`OutputCapabilities`).
  func fits(allowingConcatenatedData: Bool) -> Bool { allowingConcatenatedData || !shape.translation.isConcatenated }

  /// What the map gives for the rule's keys: `10.0.0.5`, `10.0.0.5 . 8080`, `203.0.113.1 . 1024-65535`.
  var value: Expression {
    switch (shape.translation, targetPorts) {
    case (.addressAndPort, let ports?): .concatenation([.address(target), .integer(UInt64(ports.lowerBound))])
    case (.addressAndPortRange, let ports?):
      .concatenation([.address(target), .integerRange(UInt64(ports.lowerBound), UInt64(ports.upperBound))])
    default: .address(target)
    }
  }

  /// Appends the map elements that stand for the rule: one per protocol. Each key is made at
  /// its final size, since a large map holds one per rule.
  func appendElements(to elements: inout [MapElement]) {
    let value = value
    func key(_ transport: UInt8?) -> Expression {
      var parts: [Expression] = []
      parts.reserveCapacity(4)
      parts.append(.string(interface))
      parts.append(.address(network.address))
      if let transport { parts.append(transportExpression(transport)) }
      if let port { parts.append(.integer(port)) }
      return .concatenation(parts)
    }
    guard shape.matchesProtocol else { return elements.append(MapElement(key(nil), value)) }
    for transport in protocols { elements.append(MapElement(key(transport), value)) }
  }
}

extension FoldCandidate.Shape {
  /// What the map is looked up with: `iifname . ip daddr . meta l4proto . th dport`, and for a
  /// network shorter than a host `(ip saddr & 255.255.255.0)`.
  var lookupKey: Expression {
    var address = Expression.selector(.payload(addressField))
    let ipFamily: IPFamily = family == .ip ? .inet : .inet6
    if prefixLength < ipFamily.width, let mask = Netmask.fromLength(prefixLength, family: ipFamily) {
      address = .bitwiseAnd(address, .address(IPAddress(family: ipFamily, bits: mask)))
    }
    var parts: [Expression] = [.selector(.meta(interface)), address]
    if matchesProtocol { parts.append(.selector(.meta(.l4proto))) }
    if matchesPort { parts.append(.selector(.payload(PayloadField(.th, .dport)))) }
    return .concatenation(parts)
  }

  var keyTypes: [DataType] {
    var types: [DataType] = [.interfaceName, family == .ip ? .ipv4Address : .ipv6Address]
    if matchesProtocol { types.append(.transportProtocol) }
    if matchesPort { types.append(.service) }
    return types
  }

  var dataTypes: [DataType] {
    let address: DataType = family == .ip ? .ipv4Address : .ipv6Address
    return translation == .address ? [address] : [address, .service]
  }
}

/// A NAT-chain rule on its way to folding. A rule that folding could put in a map and that its
/// candidate gives back exactly is held as the candidate alone, a fraction of its size: a large
/// file's chains are mostly such rules, and the few that stay rules are rebuilt.
enum FoldEntry {
  /// Boxed, so that an entry is one pointer: chains of entries are reordered and copied.
  indirect case rule(NFTModel.Rule)
  case candidate(FoldCandidate)

  /// `rule` as folding will hold it, when folding is on and the output can hold its map.
  init(_ rule: NFTModel.Rule, chain: NATChain, options: LoweringOptions) {
    guard options.foldThreshold != nil, let candidate = FoldCandidate.exactly(rule, chain: chain),
      candidate.fits(allowingConcatenatedData: options.target.concatenatedMapData)
    else {
      self = .rule(rule)
      return
    }
    self = .candidate(candidate)
  }

  var rule: NFTModel.Rule {
    switch self {
    case .rule(let rule): rule
    case .candidate(let candidate): candidate.rule
    }
  }

  var origin: Origin? {
    switch self {
    case .rule(let rule): rule.origin
    case .candidate(let candidate): candidate.origin
    }
  }
}
