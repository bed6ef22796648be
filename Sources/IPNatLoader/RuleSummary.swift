import IPNatNetlink
import NFTModel

/// One ipnat.conf rule as loaded: the nftables rules it became, with their counters added up.
public struct IPNatRuleSummary: Sendable, Hashable {
  /// The rule in canonical form; nil for nftables rules ipnat did not write.
  public var text: String?
  /// Where it was read from, as the comment recorded it.
  public var place: String?
  /// Packets and bytes counted by its translating rules (the NAT chains see the first packet
  /// of each connection, so packets count connections, as IPFilter's hits do).
  public var packets: UInt64
  public var bytes: UInt64
  var members: [LoadedRule]

  /// The chains that only attach attributes (timeouts, helpers, MSS) to connections the NAT
  /// chains already counted.
  static let attributeChains: Set<String> = ["ct_attrs", "mssclamp"]

  /// Groups nftables rules by the ipnat.conf rule they came from, in first-seen order.
  public static func group(_ rules: [LoadedRule]) -> [IPNatRuleSummary] {
    var order: [RuleIdentity?] = []
    var groups: [RuleIdentity?: [LoadedRule]] = [:]
    for rule in rules {
      if groups[rule.identity] == nil { order.append(rule.identity) }
      groups[rule.identity, default: []].append(rule)
    }
    return order.map { key in
      let members = groups[key]!
      let translating = members.filter { !attributeChains.contains($0.chain) }
      let counted = translating.isEmpty ? members : translating
      let identity = members[0].identity
      return IPNatRuleSummary(text: identity?.text, place: identity?.place,
                              packets: counted.reduce(0) { $0 + $1.packets },
                              bytes: counted.reduce(0) { $0 + $1.bytes },
                              members: members)
    }
  }

  /// What loading a file would change, rule by rule: rules only loaded are removed, rules only
  /// in the file are added, and rules in both whose nftables form differs (another interface
  /// map, say) are changed. Rules are matched by their canonical text, not their line.
  public static func difference(loaded: [LoadedRule], compiled: [LoadedRule]) -> Difference {
    func byText(_ rules: [LoadedRule]) -> (order: [String], forms: [String: [String]]) {
      var order: [String] = []
      var forms: [String: [String]] = [:]
      for rule in rules {
        let text = rule.identity?.text ?? "(a rule ipnat did not write, in chain \(rule.chain))"
        if forms[text] == nil { order.append(text) }
        forms[text, default: []].append(rule.chain + " " + rule.fingerprint)
      }
      return (order, forms)
    }
    let before = byText(loaded)
    let after = byText(compiled)
    return Difference(
      removed: before.order.filter { after.forms[$0] == nil },
      added: after.order.filter { before.forms[$0] == nil },
      changed: after.order.filter { text in
        before.forms[text].map { $0.sorted() != after.forms[text]!.sorted() } ?? false
      })
  }

  public struct Difference: Sendable, Equatable {
    public var removed: [String]
    public var added: [String]
    public var changed: [String]
    /// Named maps, such as folds, whose elements would change while their rules stay.
    public var maps: [MapChange] = []
    public var isEmpty: Bool { removed.isEmpty && added.isEmpty && changed.isEmpty && maps.isEmpty }
  }

  /// How many elements of a named map loading would delete and add (an element that changes
  /// is both).
  public struct MapChange: Sendable, Equatable {
    public var name: String
    public var removed: Int
    public var added: Int

    public init(name: String, removed: Int, added: Int) { (self.name, self.removed, self.added) = (name, removed, added) }
  }
}
