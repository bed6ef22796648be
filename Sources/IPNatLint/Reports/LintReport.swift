import IPNatDiagnostics

/// The outcome of linting several files, and its machine-readable forms.
public struct LintReport: Sendable {
  public struct Entry: Sendable {
    public var file: SourceFile
    public var diagnostics: [Diagnostic]

    public init(file: SourceFile, diagnostics: [Diagnostic]) {
      self.file = file
      self.diagnostics = diagnostics
    }
  }

  public var entries: [Entry]

  public init(_ entries: [Entry]) { self.entries = entries }

  public func count(_ severity: Severity) -> Int {
    entries.reduce(0) { total, entry in total + entry.diagnostics.count { $0.severity == severity } }
  }

  /// `--format`: how the report is printed on standard output.
  public enum Format: String, Sendable, CaseIterable {
    /// The same rendering as every other ipnat diagnostic, with source excerpts.
    case text
    /// ipnat's own schema, documented in README.
    case json
    /// SARIF 2.1.0, for GitHub code scanning and other static-analysis viewers.
    case sarif
    /// GitHub Actions workflow commands: annotations on the pull request.
    case github
  }
}

/// Where a diagnostic points, in the units each format wants.
struct ReportRegion {
  let start: SourceLocation
  let end: SourceLocation
  /// Columns in Unicode scalars (SARIF, GitHub) rather than bytes.
  let startScalar: SourceLocation
  let endScalar: SourceLocation
  let range: SourceRange

  init(_ range: SourceRange, in file: SourceFile) {
    self.range = range
    start = file.location(of: range.start)
    end = file.location(of: range.end)
    startScalar = file.scalarLocation(of: range.start)
    endScalar = file.scalarLocation(of: range.end)
  }
}
