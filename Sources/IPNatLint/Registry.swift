import IPNatDiagnostics

/// Every lint check, and what lint knows about the ids the other stages report.
public enum LintRegistry {
  /// The checks `ipnat lint` runs, in the order their documentation lists them.
  public static let checks: [any LintCheck] = [
    DuplicateRule(), ShadowedRule(), OverlappingRdr(), RoundRobinMismatch(), MapBlockCapacity(), UnequalBimap(),
    PoolClash(), IneffectiveOption(), ZeroAge(), HostName(), HostBits(), ForeignInterfaceName(), UnusedVariable(),
  ]

  /// Warnings the parser and the lowering report, which lint passes on and which can be
  /// disabled like lint's own. Errors cannot be disabled: the file would not compile.
  public static let stageWarnings: [DiagnosticID: String] = [
    "parse.empty-statement": "a stray ';' (IPFilter rejects an empty statement)",
    "parse.long-tag": "a tag longer than IPFilter keeps",
    "parse.number-in-inet6": "a bare number in an inet6 rule, read as an IPv6 address",
    "parse.icmpidmap-ignores-from-to": "from/to on an icmpidmap rule, which IPFilter ignores",
    "var.bad-predefined": "an IPNAT_PREDEFINED entry that is not name=value",
    "lower.age-other-protocols": "'age' on a rule for every protocol: only TCP and UDP get it on Linux",
    "lower.mssclamp-not-tcp": "'mssclamp' on a rule that applies to no TCP connection",
    "lower.rdr-loopback": "an rdr to a loopback address, redirected to the receiving interface instead",
    "lower.reflection-any-interface": "no reflection for an rdr on any interface",
    "lower.reflection-needs-address": "no reflection for an rdr whose destination is not one address",
    "lower.bimap-interface-address": "a bimap to 0/32, whose inbound half never applies",
  ]

  /// The id's one-line description, for SARIF's rule metadata.
  public static func summary(of id: DiagnosticID) -> String {
    if let check = checks.first(where: { $0.id == id }) { return check.summary }
    if let summary = stageWarnings[id] { return summary }
    if id == Suppressions.problemID { return "a suppression comment that names no warning lint can disable" }
    switch id.rawValue.split(separator: ".").first {
    case "lex", "parse", "var": return "the file does not read as IPFilter reads ipnat.conf"
    case "lower": return "Linux cannot express the rule as IPFilter means it"
    default: return "an ipnat diagnostic"
    }
  }

  /// The severity the id is reported with: a check's own; warning for the stages' warnings and
  /// for lint's own complaint about a suppression comment; error for everything else.
  public static func severity(of id: DiagnosticID) -> Severity {
    if let check = checks.first(where: { $0.id == id }) { return check.severity }
    return stageWarnings[id] != nil || id == Suppressions.problemID ? .warning : .error
  }

  /// Whether `--disable` and `# ipnat: disable=` may name the id.
  public static func canDisable(_ id: DiagnosticID) -> Bool {
    checks.contains { $0.id == id && $0.severity != .error } || stageWarnings[id] != nil
  }
}
