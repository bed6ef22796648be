import IPNatDiagnostics
import IPNatSyntax

/// Rules that can never match, because a rule IPFilter tries first matches all their packets.
///
/// Lint: IPFilter tries the longest left-hand-side prefix first, then file order (`ip_nat.c: ipf_nat_checkout`,
/// `ipf_nat_checkin`), and the first rule that matches decides. A later rule whose packets all match an earlier one
/// with the same prefix never applies. Protocols count: a `portmap tcp/udp` rule does not shadow the same rule
/// without portmap after it, which is there to catch ICMP. Round-robin partners take turns and do not shadow each
/// other; exact copies are the lowering's warning (`lower.duplicate-rule`), and no check sees them.
struct ShadowedRule: LintCheck {
  let id: DiagnosticID = "lint.shadowed-rule"
  let summary = "a rule that never applies: a rule tried before it matches all of its packets"
  let severity = Severity.warning

  func diagnostics(in context: LintContext) -> [Diagnostic] {
    var reported = Set<Int>()
    var found: [Diagnostic] = []
    for group in SameKeyGroups(context.entries).groups {
      let index = PortIndex(group)
      for later in group where !reported.contains(later.index) {
        let earlierOnes = index.candidates(meeting: later).lazy.filter { $0.index < later.index }
        guard let earlier = earlierOnes.first(where: { shadows($0, later) }) else { continue }
        reported.insert(later.index)
        found.append(finding(
          "this rule never applies: the rule of line \(context.line(of: earlier.rule.range)) is tried first and matches all of its packets",
          at: later.rule.range,
          notes: [Note("IPFilter tries rules with the same prefix in file order; this one matches a superset", at: earlier.rule.range)]))
      }
    }
    return found
  }

  private func shadows(_ earlier: TableEntry, _ later: TableEntry) -> Bool {
    guard earlier.covers(later) else { return false }
    return !(earlier.roundRobin && later.roundRobin)
  }
}

/// Entries with the same table, family and key prefix, each group in file order. Only such
/// entries can shadow one another: a rule tried earlier has a key at least as long, and a rule
/// covering another has a key at least as short.
struct SameKeyGroups {
  let groups: [[TableEntry]]

  init(_ entries: [TableEntry]) {
    groups = entries.groupedInOrder(by: { GroupKey(table: $0.table, key: $0.key) }, leavingOutGroupsSmallerThan: 2)
  }

  private struct GroupKey: Comparable {
    let table: LookupTable
    let key: AddressPrefix

    static func < (left: GroupKey, right: GroupKey) -> Bool {
      (left.table == .map ? 0 : 1, left.key.address, left.key.length) < (right.table == .map ? 0 : 1, right.key.address, right.key.length)
    }
  }
}
