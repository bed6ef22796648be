/// One kind of diagnostic a stage can report: its stable id, its severity, and a one-line
/// summary (what lint's `--list-checks` and SARIF's rule metadata show).
public struct DiagnosticKind: Sendable, Hashable {
  public let id: DiagnosticID
  public let severity: Severity
  public let summary: String

  public init(_ id: DiagnosticID, _ severity: Severity, _ summary: String) {
    (self.id, self.severity, self.summary) = (id, severity, summary)
  }
}

/// Every diagnostic a stage reports, declared in one place, so that tools (lint's `--disable`
/// and `--list-checks`, SARIF) learn of a new one without a second list to keep, and a test
/// can refuse an id that no catalogue declares.
public protocol DiagnosticCatalogue {
  static var kinds: [DiagnosticKind] { get }
}

extension DiagnosticCatalogue {
  /// The catalogue's warnings: what lint may let a user disable.
  public static var warnings: [DiagnosticKind] { kinds.filter { $0.severity == .warning } }

  public static func kind(_ id: DiagnosticID) -> DiagnosticKind? { kinds.first { $0.id == id } }
}

extension Diagnostic {
  /// A diagnostic of a catalogued kind.
  public init(_ kind: DiagnosticKind, _ message: String, at range: SourceRange?, notes: [Note] = []) {
    self.init(kind.severity, kind.id, message, at: range, notes: notes)
  }
}
