import IPAddressing
import IPNatSyntax

/// What round-robin partners share: family, interfaces, the left-hand side as values (addresses
/// and ports as numbers, however they were spelled) and the protocol. IPFilter lets round-robin
/// rdr rules take turns when they sit in the same hash bucket and match the same packets: after
/// a rule creates a session it moves to the end of its bucket (`ipf_nat_inlookup`'s
/// `IPN_ROUNDR` handling in `ip_nat.c`).
public struct RoundRobinKey: Sendable, Hashable {
  public enum AddressValue: Sendable, Hashable {
    case any
    case network(IPAddress, mask: UInt128)
    case lookup(LookupReference.Kind, LookupReference.Name)

    init(_ address: Address) {
      switch address.kind {
      case .any: self = .any
      case .network(let network): self = .network(network.address, mask: network.maskBits)
      case .lookup(let reference): self = .lookup(reference.kind, reference.name)
      }
    }
  }

  /// A port test as its operator and numbers.
  public struct PortTestValue: Sendable, Hashable {
    var comparison: PortComparison?
    var rangeOperator: PortRangeOperator?
    var low: UInt16
    var high: UInt16?

    init(_ test: PortTest) {
      switch test.kind {
      case .compare(let comparison, let port):
        (self.comparison, rangeOperator, low, high) = (comparison, nil, port.number, nil)
      case .range(let rangeOperator, let low, let high):
        (comparison, self.rangeOperator, self.low, self.high) = (nil, rangeOperator, low.number, high.number)
      }
    }
  }

  public enum MatchValue: Sendable, Hashable {
    /// `rdr IF ADDR [port P[-Q]]`: the destination, and its ports when the protocol has ports.
    case destination(AddressValue, lowPort: UInt16?, highPort: UInt16?)
    /// `from … to …`, port tests only when the protocol has ports.
    case fromTo(FromTo.Negation, source: AddressValue, sourcePort: PortTestValue?,
                destination: AddressValue, destinationPort: PortTestValue?)
  }

  public var family: IPFamily
  public var interfaces: [String]
  public var match: MatchValue
  public var ruleProtocol: RuleProtocol

  public init(_ rule: RdrRule) {
    family = rule.family
    interfaces = rule.interfaces.all.map(\.name)
    ruleProtocol = rule.ruleProtocol
    let carriesPorts = rule.ruleProtocol.carriesPorts
    switch rule.match {
    case .address(let address, _):
      let ports = rule.ports
      match = .destination(AddressValue(address), lowPort: carriesPorts ? ports.matchLow : nil,
                           highPort: carriesPorts ? ports.matchHigh : nil)
    case .fromTo(let fromTo):
      match = .fromTo(fromTo.negation, source: AddressValue(fromTo.source.address),
                      sourcePort: carriesPorts ? fromTo.source.port.map(PortTestValue.init) : nil,
                      destination: AddressValue(fromTo.destination.address),
                      destinationPort: carriesPorts ? fromTo.destination.port.map(PortTestValue.init) : nil)
    }
  }
}

/// A unit of lowering and of lint's round-robin checks: one rule, or the rdr rules that take
/// turns.
public enum RuleGroup: Sendable {
  case single(Rule, ordinal: Int)
  case roundRobin([(rule: RdrRule, ordinal: Int)])

  /// The rules of a file in file order, round-robin rdr rules with the same ``RoundRobinKey``
  /// gathered into one group at the place of the first. A round-robin rule without partners
  /// is a single rule (`isAlone` tells lint so). Ordinals count from 1.
  public static func partition(_ rules: [Rule]) -> [RuleGroup] {
    var groups: [RuleGroup?] = []
    var roundRobin = RoundRobinCollector()
    var places: [Int] = []
    for (offset, rule) in rules.enumerated() {
      switch roundRobin.take(rule, ordinal: offset + 1) {
      case .notRoundRobin: groups.append(.single(rule, ordinal: offset + 1))
      case .opensGroup:
        places.append(groups.count)
        groups.append(nil)
      case .joinsGroup: break
      }
    }
    for (place, group) in zip(places, roundRobin.groups) { groups[place] = group }
    return groups.map { $0! }
  }
}

/// Gathers round-robin rdr rules into groups as the rules of a file come, in file order: a
/// group's members can be anywhere in the file, so a group is complete only at its end.
public struct RoundRobinCollector: Sendable {
  public enum Placement: Sendable {
    /// Not a round-robin rdr rule: a group of its own, at its own place.
    case notRoundRobin
    /// The first of its group: the group takes this rule's place.
    case opensGroup
    /// A later member of a group already placed.
    case joinsGroup
  }

  private var members: [[(rule: RdrRule, ordinal: Int)]] = []
  private var groupIndex: [RoundRobinKey: Int] = [:]

  public init() {}

  public mutating func take(_ rule: Rule, ordinal: Int) -> Placement {
    guard case .rdr(let rdr) = rule, rdr.options.roundRobin != nil else { return .notRoundRobin }
    let key = RoundRobinKey(rdr.value)
    if let index = groupIndex[key] {
      members[index].append((rdr.value, ordinal))
      return .joinsGroup
    }
    groupIndex[key] = members.count
    members.append([(rdr.value, ordinal)])
    return .opensGroup
  }

  /// The groups, in the order they were opened: a group of one is a single rule.
  public var groups: [RuleGroup] {
    members.map { members in
      members.count == 1 ? .single(.rdr(members[0].rule), ordinal: members[0].ordinal) : .roundRobin(members)
    }
  }
}
