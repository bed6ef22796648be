import IPNatDiagnostics
import IPNatSyntax

/// Options that do nothing, in IPFilter or on Linux.
///
/// Lint: `frag` is parsed, but IPFilter's kernel never consults it; `sticky` is ignored unless the rdr has
/// `round-robin` or an `A,B` target (IPFilter's parser, `tools/ipnat_y.y`); `round-robin` needs partners with the same
/// left-hand side to take turns with, never rotates a bimap, and on map rules is not carried
/// to Linux; `purge` only matters when IPFilter removes a rule (`ip_nat.c: ipf_nat_delrule`), and removing rules on
/// Linux never removes connections.
struct IneffectiveOption: LintCheck {
  let id: DiagnosticID = "lint.no-effect"
  let summary = "an option that does nothing here: frag, purge, sticky or round-robin without what they need"
  let severity = Severity.warning

  func diagnostics(in context: LintContext) -> [Diagnostic] {
    return context.rules.flatMap { rule -> [Diagnostic] in
      switch rule {
      case .map(let map): common(map.options) + roundRobin(map.value)
      case .mapBlock(let block): common(block.options) + roundRobinOnMapBlock(block.options)
      case .rdr(let rdr): common(rdr.options) + sticky(rdr.value) + roundRobin(rdr.value, groups: context.roundRobinGroups)
      case .rewrite, .divert, .no: []
      }
    }
  }

  private func common(_ options: RuleOptions) -> [Diagnostic] {
    var found: [Diagnostic] = []
    if let frag = options.frag {
      found.append(finding("'frag' does nothing: IPFilter never consults it, and fragments are translated without it",
                           at: frag.range))
    }
    if let purge = options.purge {
      found.append(finding("'purge' does nothing on Linux: removing rules never removes the connections they made",
                           at: purge.range,
                           notes: [Note("in IPFilter it removes a rule's sessions when 'ipnat -r' removes the rule")]))
    }
    return found
  }

  private func sticky(_ rdr: RdrRule) -> [Diagnostic] {
    guard let sticky = rdr.options.sticky, rdr.options.roundRobin == nil else { return [] }
    if case .split = rdr.target { return [] }  // lower.sticky-split refuses that case
    return [finding("'sticky' does nothing without 'round-robin' or an 'A,B' target: IPFilter ignores it",
                    at: sticky.range)]
  }

  private func roundRobin(_ rdr: RdrRule, groups: RoundRobinGroups) -> [Diagnostic] {
    guard let flag = rdr.options.roundRobin, groups.isAlone(rdr) else { return [] }
    if case .split = rdr.target, rdr.options.sticky != nil { return [] }  // sticky needs it
    // lint.round-robin-mismatch explains a rule whose partners match other packets.
    guard groups.nearPartners(of: rdr).isEmpty else { return [] }
    return [finding("'round-robin' does nothing: no other round-robin rdr rule has the same left-hand side to take turns with",
                    at: flag.range)]
  }

  private func roundRobin(_ map: MapRule) -> [Diagnostic] {
    guard let flag = map.options.roundRobin else { return [] }
    if map.kind == .bimap {
      return [finding("'round-robin' does nothing on a bimap: IPFilter never rotates one", at: flag.range)]
    }
    return [finding("'round-robin' on a map rule is not carried to Linux: the first matching map rule always applies",
                    at: flag.range,
                    notes: [Note("IPFilter rotates round-robin map rules with the same source; give them distinct sources instead")])]
  }

  private func roundRobinOnMapBlock(_ options: RuleOptions) -> [Diagnostic] {
    guard let flag = options.roundRobin else { return [] }
    return [finding("'round-robin' does nothing on a map-block: each host's address and ports are fixed", at: flag.range)]
  }
}
