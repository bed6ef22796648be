import IPNatDiagnostics
import IPNatSyntax

/// Rules that say exactly what an earlier rule says.
///
/// Lint: IPFilter compares each new rule with those loaded (`ipf_nat_cmp_rules`) and refuses
/// an identical one with EEXIST, so the file would not load on Solaris or BSD. Two rules are
/// identical when their canonical forms are, whatever the spelling (`10.0.0.0/24` and
/// `10.0.0.0/255.255.255.0`, `port ftp` and `port 21`).
struct DuplicateRule: LintCheck {
  let id: DiagnosticID = "lint.duplicate-rule"
  let summary = "a rule identical to an earlier one (IPFilter refuses to load it)"
  let severity = Severity.error

  func diagnostics(in context: LintContext) -> [Diagnostic] {
    var firstByText: [String: Rule] = [:]
    var found: [Diagnostic] = []
    for rule in context.rules {
      let text = CanonicalPrinter.print(rule)
      guard let first = firstByText[text] else {
        firstByText[text] = rule
        continue
      }
      found.append(finding(
        "this rule repeats the rule of line \(context.line(of: first.range)); IPFilter refuses to load a duplicate",
        at: rule.range, notes: [Note("the first one is here", at: first.range)]))
    }
    return found
  }
}
