import IPNatDiagnostics
import IPNatSyntax

/// `bimap` between networks of different sizes.
///
/// Lint: only a bimap of two prefixes of the same length maps addresses 1:1 in both directions. With different
/// lengths, outbound connections are allocated as by `map`, and every inbound connection goes to the *network
/// address* of the internal side (`ip_nat.c: ipf_nat_newmap`, `ipf_nat_newrdr`, test n11), which is almost never what
/// was meant.
struct UnequalBimap: LintCheck {
  let id: DiagnosticID = "lint.bimap-unequal-prefix"
  let summary = "a bimap between prefixes of different lengths: inbound connections all go to the internal network address"
  let severity = Severity.warning

  func diagnostics(in context: LintContext) -> [Diagnostic] {
    context.rules.compactMap { rule in
      guard case .map(let bimap) = rule, bimap.kind == .bimap, case .address(let inside) = bimap.source,
        case .address(let outside) = bimap.target,
        case .network(let insideNetwork) = inside.kind, case .network(let outsideNetwork) = outside.kind,
        let internalLength = insideNetwork.prefixLength, let externalLength = outsideNetwork.prefixLength,
        internalLength > 0, internalLength != externalLength,
        !(outsideNetwork.isHost && outsideNetwork.address.bits == 0)
      else { return nil }
      return finding(
        "bimap between a /\(internalLength) and a /\(externalLength): every inbound connection to \(outsideNetwork.address)/\(externalLength) goes to \(insideNetwork.address), the internal network address",
        at: bimap.range,
        notes: [Note("only prefixes of equal length map 1:1 in both directions; use 'map' and 'rdr' rules for anything else")])
    }
  }
}
