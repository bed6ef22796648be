import IPNatDiagnostics
import IPNatSyntax

/// rdr rules that share some connections, but not all, and send them to different places.
///
/// Lint: when two rdr rules match some of the same packets and neither holds the other, the
/// rule IPFilter tries first (longest destination prefix, then file order) takes the shared
/// connections, which is rarely what the second rule's author meant: `port 80-90 -> A` and
/// `port 85-100 -> B` send 85–90 to A. A rule that holds a more specific one tried before it
/// is the usual exception idiom and is fine; one that is held entirely is `lint.shadowed-rule`.
struct OverlappingRdr: LintCheck {
  let id: DiagnosticID = "lint.rdr-overlap"
  let summary = "rdr rules that partly overlap and send the shared connections to different targets"
  let severity = Severity.warning

  func diagnostics(in context: LintContext) -> [Diagnostic] {
    let redirects = context.entries.filter { entry in
      guard entry.table == .rdr, case .rdr = entry.rule else { return false }
      return true
    }
    var byKey: [AddressPrefix: [TableEntry]] = [:]
    for entry in redirects { byKey[entry.key, default: []].append(entry) }
    let indexes = byKey.mapValues(PortIndex.init)

    var found: [Int: Diagnostic] = [:]
    for entry in redirects {
      for ancestor in entry.key.ancestors {
        for other in indexes[ancestor]?.candidates(meeting: entry) ?? [] where other.index != entry.index {
          // Each pair once: same-key pairs from the later rule, nested pairs from the inner one.
          if ancestor == entry.key && other.index > entry.index { continue }
          let (first, second) = other.isTried(before: entry) ? (other, entry) : (entry, other)
          guard found[second.index] == nil, overlapsPartly(first, second),
            case .rdr(let winner) = first.rule, case .rdr(let loser) = second.rule,
            RdrTarget(winner.value) != RdrTarget(loser.value)
          else { continue }
          found[second.index] = finding(
            "some connections this rdr matches also match the rdr of line \(context.line(of: first.rule.range)), which is tried first and sends them to \(RdrTarget.text(of: winner.value, in: context))",
            at: second.rule.range,
            notes: [Note("the two rules overlap here; neither holds the other, so the split may not be what was meant",
                         at: first.rule.range)])
        }
      }
    }
    return Array(found.values)
  }

  private func overlapsPartly(_ first: TableEntry, _ second: TableEntry) -> Bool {
    first.intersects(second) && !first.covers(second) && !second.covers(first)
  }
}

/// Where an rdr rule sends connections, compared by meaning rather than spelling.
struct RdrTarget: Hashable {
  private let addresses: [String]
  private let ports: String

  init(_ rdr: RdrRule) {
    switch rdr.target {
    case .address(let address):
      addresses = [address.network(in: rdr.family).map { "\($0.address)/\($0.mask)" } ?? "lookup"]
    case .split(let first, let second): addresses = ["\(first.address)", "\(second.address)"]
    // IPFilter only ever uses the first address of a range (`ip_nat.c: ipf_nat_newrdr`).
    case .range(let first, _, _): addresses = ["\(first.address)"]
    }
    let numbers = rdr.ports
    ports = "\(numbers.targetLow)-\(numbers.targetHigh)-\(numbers.isFixed)"
  }

  /// The target as written: `10.0.0.5 port 8080`.
  static func text(of rdr: RdrRule, in context: LintContext) -> String {
    context.text(range(of: rdr))
  }

  static func range(of rdr: RdrRule) -> SourceRange {
    let addresses: SourceRange =
      switch rdr.target {
      case .address(let address): address.range
      case .split(let first, let second): first.range.extended(to: second.range)
      case .range(let first, let last, let keyword): (keyword?.range ?? first.range).extended(to: last.range)
      }
    switch rdr.targetPort {
    case .range(let ports)?: return addresses.extended(to: ports.range)
    case .fixed(let port)?: return addresses.extended(to: port.range)
    case nil: return addresses
    }
  }
}
