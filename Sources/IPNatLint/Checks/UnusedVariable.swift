import IPNatDiagnostics
import IPNatSyntax

/// Variables defined but never used.
///
/// Lint: an unused variable is usually a typo in the name where it was meant to be used, or a
/// leftover of a rule that was removed. A variable counts as used when a rule refers to it, or
/// when a used variable's value does. (Using an undefined variable is an error,
/// `var.undefined`.)
struct UnusedVariable: LintCheck {
  let id: DiagnosticID = "lint.unused-variable"
  let summary = "a variable that is defined but never used"
  let severity = Severity.warning

  func diagnostics(in context: LintContext) -> [Diagnostic] {
    let assignments = context.parse.config.statements.compactMap { statement -> Assignment? in
      if case .assignment(let assignment) = statement { return assignment }
      return nil
    }
    var values: [String: [String]] = [:]
    for assignment in assignments {
      values[assignment.name.value, default: []].append(assignment.value.value)
    }
    var used = Set<String>()
    var pending = context.parse.variableReferences.map(\.name)
    while let name = pending.popLast() {
      guard used.insert(name).inserted else { continue }
      pending += (values[name] ?? []).flatMap(VariableTable.references(in:))
    }
    var reported = Set<String>()
    return assignments.compactMap { assignment in
      let name = assignment.name.value
      guard !used.contains(name), reported.insert(name).inserted else { return nil }
      return finding("variable '\(name)' is never used", at: assignment.name.range)
    }
  }
}
