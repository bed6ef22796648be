import IPNatDiagnostics
import IPNatSyntax

/// Round-robin groups whose members differ, and round-robin rules that miss their partners.
///
/// Lint: IPFilter has no group syntax: `round-robin` rdr rules with the same left-hand side
/// take turns (`ip_nat.c: ipf_nat_newrdr`). Members that differ in the new port or in options treat a connection
/// differently depending on its turn. A round-robin rule whose would-be partner matches other
/// packets (another port, protocol or interface) forms no group at all.
struct RoundRobinMismatch: LintCheck {
  let id: DiagnosticID = "lint.round-robin-mismatch"
  let summary = "round-robin rdr rules that differ from their group, or that form no group with their intended partners"
  let severity = Severity.warning

  func diagnostics(in context: LintContext) -> [Diagnostic] {
    var found: [Diagnostic] = []
    for members in context.roundRobinGroups.members {
      if members.count == 1 {
        found += missedPartner(members[0], context: context)
        continue
      }
      let first = members[0]
      for member in members.dropFirst() {
        guard let difference = Treatment(first).difference(from: Treatment(member)) else { continue }
        found.append(finding(
          "this round-robin rule differs from its partner on line \(context.line(of: first.range)) in \(difference); a connection's \(difference) depends on its turn",
          at: member.range, notes: [Note("the group's first rule", at: first.range)]))
      }
    }
    return found
  }

  /// A lone round-robin rule with an earlier round-robin rule on the same destination address
  /// that matches other packets: most likely meant as partners. Reported once, on the later.
  private func missedPartner(_ rule: RdrRule, context: LintContext) -> [Diagnostic] {
    let earlier = context.roundRobinGroups.nearPartners(of: rule).first { $0.range.start < rule.range.start }
    guard let partner = earlier else { return [] }
    return [finding(
      "this round-robin rule takes no turns: the round-robin rule of line \(context.line(of: partner.range)) matches other packets, so the two form no group",
      at: rule.range,
      notes: [Note("rules take turns only when their left-hand sides (interface, address, ports and protocol) are identical",
                   at: partner.range)])]
  }
}

/// What a round-robin member does to a connection besides choosing the target address.
private struct Treatment {
  let aspects: [(name: String, value: String)]

  init(_ rdr: RdrRule) {
    let ports = rdr.ports
    let options = rdr.options
    aspects = [
      ("new port", ports.isFixed ? "=\(ports.targetLow)" : "\(ports.targetLow)-\(ports.targetHigh)"),
      ("age", options.age.map { "\($0.forward)/\($0.reverse)" } ?? "-"),
      ("sticky", options.sticky == nil ? "no" : "yes"),
      ("mssclamp", options.mssclamp.map { "\($0.value)" } ?? "-"),
      ("tag", options.tag?.value ?? "-"),
      ("proxy", rdr.proxy.map(Self.proxyName) ?? "-"),
      ("outbound interface", rdr.interfaces.outbound.name),
    ]
  }

  /// The first aspect in which the two differ, by name.
  func difference(from other: Treatment) -> String? {
    zip(aspects, other.aspects).first { $0.value != $1.value }?.0.name
  }

  private static func proxyName(_ proxy: RdrRule.Proxy) -> String {
    switch proxy {
    case .label(let label): label.value
    case .clause(let clause): "\(clause.label.value)/\(clause.port.number)"
    }
  }
}
