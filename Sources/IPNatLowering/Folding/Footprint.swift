import IPAddressing
import NFTModel

/// The packets a NAT-chain rule can match, read from its matches and over-approximated: a
/// match the footprint does not understand is left out, which only makes it larger. Two rules
/// whose footprints do not overlap can never match the same packet, so their order does not
/// matter; that is what lets folding move a rule.
///
/// Interfaces and protocols are short lists, not sets: a rule names one or two, and folding
/// reads a footprint for every rule.
struct Footprint: Equatable {
  var family: IPFamily?
  var inputInterfaces: [String]?
  var outputInterfaces: [String]?
  var protocols: [UInt8]?
  var source: AddressPrefix?
  var destination: AddressPrefix?
  var destinationPorts: ClosedRange<UInt64>?

  /// The footprint of every packet; a record's reader fills it in.
  init() {}

  init(_ rule: NFTModel.Rule) {
    for match in rule.matches where match.op == .implicit {
      guard case .selector(let selector) = match.left else { continue }
      switch selector {
      case .meta(.iifname): inputInterfaces = Self.interfaceNames(match.right)
      case .meta(.oifname): outputInterfaces = Self.interfaceNames(match.right)
      case .meta(.nfproto): family = Self.family(match.right)
      case .meta(.l4proto): protocols = Self.protocolNumbers(match.right)
      case .payload(let field):
        switch (field.header, field.field) {
        case (.ip, .saddr), (.ip6, .saddr): source = Self.network(match.right)
        case (.ip, .daddr), (.ip6, .daddr): destination = Self.network(match.right)
        case (.th, .dport): destinationPorts = Self.portRange(match.right)
        default: break
        }
        if field.header == .ip { family = .inet } else if field.header == .ip6 { family = .inet6 }
      default: break
      }
    }
  }

  init(_ entry: FoldEntry) {
    switch entry {
    case .rule(let rule): self.init(rule)
    case .candidate(let candidate): self.init(candidate)
    }
  }

  /// The footprint of the candidate's rule, read from the candidate: no rule is rebuilt.
  init(_ candidate: FoldCandidate) {
    let shape = candidate.shape
    family = candidate.network.address.family
    if shape.interface == .iifname { inputInterfaces = [candidate.interface] } else { outputInterfaces = [candidate.interface] }
    if shape.matchesProtocol { protocols = candidate.protocols }
    if shape.addressField.field == .saddr { source = candidate.network } else { destination = candidate.network }
    destinationPorts = candidate.port.map { $0...$0 }
  }

  /// Whether some packet could match both rules.
  func mayOverlap(_ other: Footprint) -> Bool {
    if let family, let otherFamily = other.family, family != otherFamily { return false }
    if Self.disjoint(inputInterfaces, other.inputInterfaces) || Self.disjoint(outputInterfaces, other.outputInterfaces)
      || Self.disjoint(protocols, other.protocols)
    {
      return false
    }
    if let source, let otherSource = other.source, !source.overlaps(otherSource) { return false }
    if let destination, let otherDestination = other.destination, !destination.overlaps(otherDestination) { return false }
    if let ports = destinationPorts, let otherPorts = other.destinationPorts, !ports.overlaps(otherPorts) { return false }
    return true
  }

  private static func disjoint<Element: Equatable>(_ first: [Element]?, _ second: [Element]?) -> Bool {
    guard let first, let second else { return false }
    return !first.contains(where: second.contains)
  }

  /// Exact names only: `"ppp*"` is a wildcard to nft, so it stands for any interface here.
  private static func interfaceNames(_ value: Expression) -> [String]? {
    switch value {
    case .string(let name) where !name.hasSuffix("*"): return [name]
    case .set(let members):
      var names: [String] = []
      for member in members {
        guard case .string(let name) = member, !name.hasSuffix("*") else { return nil }
        names.append(name)
      }
      return names
    default: return nil
    }
  }

  private static func family(_ value: Expression) -> IPFamily? {
    switch value {
    case .symbol("ipv4"): .inet
    case .symbol("ipv6"): .inet6
    default: nil
    }
  }

  /// The protocol numbers a `meta l4proto` match accepts, sorted, each once.
  static func protocolNumbers(_ value: Expression) -> [UInt8]? {
    switch value {
    case .set(let members):
      var numbers: [UInt8] = []
      for member in members {
        guard let number = transportNumber(member) else { return nil }
        if !numbers.contains(number) { numbers.append(number) }
      }
      return numbers.sorted()
    default:
      return transportNumber(value).map { [$0] }
    }
  }

  private static func network(_ value: Expression) -> AddressPrefix? {
    switch value {
    case .address(let address): AddressPrefix(address, length: address.family.width)
    case .prefix(let address, let length): AddressPrefix(address, length: length)
    default: nil
    }
  }

  private static func portRange(_ value: Expression) -> ClosedRange<UInt64>? {
    switch value {
    case .integer(let port): port...port
    case .integerRange(let low, let high) where low <= high: low...high
    default: nil
    }
  }
}
