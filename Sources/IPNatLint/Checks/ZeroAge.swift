import IPNatDiagnostics
import IPNatSyntax

/// `age` with a zero.
///
/// Lint: IPFilter reads a zero age as "no age": the connection keeps the default timeout for
/// that direction (`ip_nat.c: ipf_nat_siocaddnat`). `age 0` does nothing, and `age N/0` leaves replies at the default,
/// which is rarely what a zero was meant to say. (`age 0/N` is refused by IPFilter's kernel
/// and is a lowering error, `lower.age-zero`.)
struct ZeroAge: LintCheck {
  let id: DiagnosticID = "lint.age-zero"
  let summary = "'age 0' or 'age N/0': a zero keeps the default timeout"
  let severity = Severity.warning

  func diagnostics(in context: LintContext) -> [Diagnostic] {
    context.rules.compactMap { rule -> Diagnostic? in
      let age: Age? =
        switch rule {
        case .map(let map): map.options.age
        case .mapBlock(let block): block.options.age
        case .rdr(let rdr): rdr.options.age
        case .rewrite, .divert, .no: nil
        }
      guard let age else { return nil }
      if age.forward == 0 && age.reverse == 0 {
        return finding("'age 0' does nothing: IPFilter reads 0 as no age, so the default timeouts apply", at: age.range)
      }
      if age.reverse == 0 && age.forward != 0 {
        return finding("'age \(age.forward)/0' leaves replies at the default timeout: IPFilter reads 0 as no age",
                       at: age.range,
                       notes: [Note("write 'age \(age.forward)' for the same timeout in both directions")],
                       fixIts: [FixIt("use one timeout", replacing: age.range, with: "age \(age.forward)")])
      }
      return nil
    }
  }
}
