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

/// Where a diagnostic points, with columns in the unit the format wants.
struct ReportRegion {
  enum Columns {
    /// As the text output and ipnat's JSON count them.
    case bytes
    /// As SARIF (`unicodeCodePoints`) and GitHub annotations count them.
    case scalars
  }

  let start: SourceLocation
  let end: SourceLocation

  init(_ range: SourceRange, in file: SourceFile, columns: Columns) {
    let locate = columns == .bytes ? file.location(of:) : file.scalarLocation(of:)
    start = locate(range.start)
    end = locate(range.end)
  }
}
