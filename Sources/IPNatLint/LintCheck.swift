import IPNatDiagnostics
import IPNatSyntax

/// One lint check: a stable id, what it looks for, and the diagnostics it finds in a file.
///
/// A check only reads the parsed file; it never resolves names, touches the kernel or needs
/// libnftnl, so `ipnat lint` runs anywhere, unprivileged.
public protocol LintCheck: Sendable {
  /// The id diagnostics carry and `--disable` and `# ipnat: disable=` name.
  var id: DiagnosticID { get }
  /// One line for `--list-checks` and SARIF's rule metadata.
  var summary: String { get }
  /// The severity of what it reports: errors only for what IPFilter itself refuses.
  var severity: Severity { get }
  func diagnostics(in context: LintContext) -> [Diagnostic]
}

/// What every check reads: the parsed file and the facts several checks share.
public struct LintContext: Sendable {
  public let file: SourceFile
  public let parse: ParseResult
  /// `--interface-map`: names the user has already told us how to translate.
  public let interfaceMap: [String: String]
  /// The rules that load, in file order.
  public let rules: [Rule]
  /// Every rule's entries in IPFilter's lookup tables, in file order.
  let entries: [TableEntry]
  let roundRobinGroups: RoundRobinGroups

  /// `leftOut`: where the rules start that the lowering leaves out, copies of earlier rules
  /// (`lower.duplicate-rule`): the lowering says so, and no check sees them.
  public init(file: SourceFile, parse: ParseResult, interfaceMap: [String: String] = [:], leftOut: Set<Int> = []) {
    self.file = file
    self.parse = parse
    self.interfaceMap = interfaceMap
    self.rules = leftOut.isEmpty ? parse.config.rules : parse.config.rules.filter { !leftOut.contains($0.range.start) }
    self.entries = TableEntry.entries(of: rules)
    self.roundRobinGroups = RoundRobinGroups(rules)
  }

  /// `file:line` style reference to a rule, for notes: "line 12".
  func line(of range: SourceRange) -> Int { file.location(of: range.start).line }

  /// The source text of a range, for messages that quote the rule.
  func text(_ range: SourceRange) -> String { file.text(in: range) }
}

extension LintCheck {
  func finding(_ message: String, at range: SourceRange, notes: [Note] = [], fixIts: [FixIt] = []) -> Diagnostic {
    Diagnostic(severity, id, message, at: range, notes: notes, fixIts: fixIts)
  }
}
