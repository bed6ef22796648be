import IPNatDiagnostics
import IPNatSyntax

/// Host names in rules.
///
/// Lint: IPFilter resolves a name once, when the file is loaded (IPFilter's parser, `tools/ipnat_y.y`), and a name
/// that does not resolve silently becomes 0/32, the interface's address. The ruleset then depends on DNS at boot, and
/// changes meaning when a record changes. `ipnat --no-resolve` refuses names.
struct HostName: LintCheck {
  let id: DiagnosticID = "lint.host-name"
  let summary = "a host name in a rule: the ruleset then depends on DNS when it is loaded"
  let severity = Severity.warning

  func diagnostics(in context: LintContext) -> [Diagnostic] {
    context.rules.flatMap { rule in
      rule.writtenNetworks.compactMap { network -> Diagnostic? in
        guard case .name(let name, let resolved) = network.host.spelling else { return nil }
        return finding(
          "'\(name)' is a host name: the rule depends on DNS each time the file is loaded",
          at: network.host.range,
          notes: [Note("it resolves to \(resolved) now; if it ever fails to resolve, IPFilter silently uses the interface's address")],
          fixIts: [FixIt("write the address", replacing: network.host.range, with: "\(resolved)")])
      }
    }
  }
}
