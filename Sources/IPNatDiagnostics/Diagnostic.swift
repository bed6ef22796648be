/// How serious a diagnostic is. Only errors make a command fail (unless warnings are promoted).
public enum Severity: String, Sendable, Hashable, Comparable, CaseIterable {
  case note
  case warning
  case error

  private var rank: Int {
    switch self {
    case .note: 0
    case .warning: 1
    case .error: 2
    }
  }

  public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// A stable identifier such as `parse.expected-arrow`: the part of a diagnostic that tools,
/// suppression comments and tests may rely on, whatever the wording of the message becomes.
public struct DiagnosticID: RawRepresentable, Hashable, Sendable, Comparable, ExpressibleByStringLiteral,
  CustomStringConvertible
{
  public let rawValue: String

  public init(rawValue: String) { self.rawValue = rawValue }
  public init(stringLiteral value: String) { self.rawValue = value }

  public var description: String { rawValue }
  public static func < (lhs: DiagnosticID, rhs: DiagnosticID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Secondary information attached to a diagnostic, optionally pointing at its own range.
public struct Note: Hashable, Sendable {
  public var message: String
  public var range: SourceRange?

  public init(_ message: String, at range: SourceRange? = nil) {
    self.message = message
    self.range = range
  }
}

/// A text edit that would fix the problem: replace `range` with `replacement`.
public struct FixIt: Hashable, Sendable {
  public var message: String
  public var range: SourceRange
  public var replacement: String

  public init(_ message: String, replacing range: SourceRange, with replacement: String) {
    self.message = message
    self.range = range
    self.replacement = replacement
  }
}

/// A problem found in the input, as data. Rendering lives in ``DiagnosticRenderer``.
public struct Diagnostic: Hashable, Sendable {
  public var severity: Severity
  public var id: DiagnosticID
  public var message: String
  /// Where the problem is; `nil` for problems that belong to no place in the file
  /// (a variable given with `-D`, a file that cannot be read).
  public var range: SourceRange?
  public var notes: [Note]
  public var fixIts: [FixIt]

  public init(
    _ severity: Severity, _ id: DiagnosticID, _ message: String, at range: SourceRange?,
    notes: [Note] = [], fixIts: [FixIt] = []
  ) {
    self.severity = severity
    self.id = id
    self.message = message
    self.range = range
    self.notes = notes
    self.fixIts = fixIts
  }

  public static func error(
    _ id: DiagnosticID, _ message: String, at range: SourceRange?, notes: [Note] = [], fixIts: [FixIt] = []
  ) -> Diagnostic {
    Diagnostic(.error, id, message, at: range, notes: notes, fixIts: fixIts)
  }

  public static func warning(
    _ id: DiagnosticID, _ message: String, at range: SourceRange?, notes: [Note] = [], fixIts: [FixIt] = []
  ) -> Diagnostic {
    Diagnostic(.warning, id, message, at: range, notes: notes, fixIts: fixIts)
  }
}

extension Sequence where Element == Diagnostic {
  public var hasErrors: Bool { contains { $0.severity == .error } }

  /// In source order, those about no place first; diagnostics at the same place keep the
  /// order they were reported in.
  public func sortedBySource() -> [Diagnostic] {
    enumerated().sorted { left, right in
      let leftStart = left.element.range?.start ?? -1
      let rightStart = right.element.range?.start ?? -1
      return leftStart != rightStart ? leftStart < rightStart : left.offset < right.offset
    }.map(\.element)
  }
}
