import IPNatDiagnostics
import IPNatSemantics
import IPNatSyntax

/// Every lint check, and what lint knows about the ids the other stages report. As a
/// catalogue it declares lint's own diagnostics: one per check, and the suppression problem.
public enum LintRegistry: DiagnosticCatalogue {
  /// The checks `ipnat lint` runs, in the order their documentation lists them.
  public static let checks: [any LintCheck] = [
    ShadowedRule(), OverlappingRdr(), RoundRobinMismatch(), MapBlockCapacity(), UnequalBimap(),
    PoolClash(), IneffectiveOption(), ZeroAge(), HostName(), HostBits(), ForeignInterfaceName(), UnusedVariable(),
  ]

  public static let kinds: [DiagnosticKind] =
    checks.map { DiagnosticKind($0.id, $0.severity, $0.summary) }
    + [DiagnosticKind(Suppressions.problemID, .warning, "a suppression comment that names no warning lint can disable")]

  /// The kinds of the stages whose diagnostics lint passes on: the parser's and the lowering's.
  public static let stageKinds: [DiagnosticKind] = ParseDiagnostics.kinds + LoweringDiagnostics.kinds

  /// Warnings the parser and the lowering report, which lint passes on and which can be
  /// disabled like lint's own. Errors cannot be disabled: the file would not compile.
  public static let stageWarnings: [DiagnosticID: String] = Dictionary(
    uniqueKeysWithValues: stageKinds.filter { $0.severity == .warning }.map { ($0.id, $0.summary) })

  /// The id's one-line description, for SARIF's rule metadata.
  public static func summary(of id: DiagnosticID) -> String {
    (kind(id) ?? stageKind(id))?.summary ?? "an ipnat diagnostic"
  }

  static func stageKind(_ id: DiagnosticID) -> DiagnosticKind? {
    stageKinds.first { $0.id == id }
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
