import IPNatDiagnostics
import IPNatSemantics
import IPNatSyntax

/// `ipnat lint`: the mistakes in an ipnat.conf that parse and compile fine but do not do what
/// their author meant, or do something else on Linux than on Solaris.
///
/// Lint adds its findings to what the parser and the lowering report (everything the
/// lowering refuses is an error here too, so CI catches it before a gateway does), then
/// applies `--disable` and `# ipnat: disable=` comments. Only warnings can be silenced.
public enum Linter {
  public struct Options: Sendable {
    /// `--disable ID`: warnings not to report anywhere.
    public var disabled: Set<DiagnosticID>
    /// `--interface-map`: interface names that are translated, so not foreign.
    public var interfaceMap: [String: String]

    public init(disabled: Set<DiagnosticID> = [], interfaceMap: [String: String] = [:]) {
      self.disabled = disabled
      self.interfaceMap = interfaceMap
    }
  }

  /// All diagnostics for a file, in source order: `stageDiagnostics` (the parser's and the
  /// lowering's) and every check's findings, less what is silenced. Checks report in any
  /// order; this is the one place that orders them.
  public static func review(_ parse: ParseResult, in file: SourceFile, stageDiagnostics: [Diagnostic],
                            options: Options = Options()) -> [Diagnostic] {
    let copies = stageDiagnostics.filter { $0.id == LoweringDiagnostics.duplicateRule.id }.compactMap { $0.range?.start }
    let context = LintContext(file: file, parse: parse, interfaceMap: options.interfaceMap, leftOut: Set(copies))
    let suppressions = Suppressions(parse.config, in: file)
    let findings = LintRegistry.checks.flatMap { $0.diagnostics(in: context) }
    let all = stageDiagnostics + findings + suppressions.problems
    let kept = all.filter { diagnostic in
      diagnostic.severity == .error || !(options.disabled.contains(diagnostic.id) || suppressions.silences(diagnostic))
    }
    return kept.sortedBySource()
  }
}
