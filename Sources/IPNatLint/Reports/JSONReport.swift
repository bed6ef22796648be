import IPNatDiagnostics
import JSONText

/// `ipnat lint --format json`: one document for all files, schema version 1 (README,
/// "Lint output"). Lines and columns are 1-based, columns in bytes as in the text output;
/// offsets are 0-based bytes, ends exclusive.
public enum JSONReport {
  public static let schemaVersion = 1

  public static func render(_ report: LintReport) -> String {
    let document = JSONValue.object([
      ("version", .integer(schemaVersion)),
      ("files", .array(report.entries.map(file))),
      ("summary", .object([
        ("errors", .integer(report.count(.error))),
        ("warnings", .integer(report.count(.warning))),
        ("notes", .integer(report.count(.note))),
      ])),
    ])
    return document.pretty() + "\n"
  }

  private static func file(_ entry: LintReport.Entry) -> JSONValue {
    .object([
      ("path", .string(entry.file.name)),
      ("diagnostics", .array(entry.diagnostics.map { diagnostic($0, in: entry.file) })),
    ])
  }

  private static func diagnostic(_ diagnostic: Diagnostic, in file: SourceFile) -> JSONValue {
    .object([
      ("id", .string(diagnostic.id.rawValue)),
      ("severity", .string(diagnostic.severity.rawValue)),
      ("message", .string(diagnostic.message)),
      ("range", range(diagnostic.range, in: file)),
      ("notes", .array(diagnostic.notes.map { .object([("message", .string($0.message)), ("range", range($0.range, in: file))]) })),
      ("fixIts", .array(diagnostic.fixIts.map {
        .object([("message", .string($0.message)), ("range", range($0.range, in: file)), ("replacement", .string($0.replacement))])
      })),
    ])
  }

  private static func range(_ range: SourceRange?, in file: SourceFile) -> JSONValue {
    guard let range else { return .null }
    let region = ReportRegion(range, in: file, columns: .bytes)
    return .object([
      ("start", .object([("line", .integer(region.start.line)), ("column", .integer(region.start.column)), ("offset", .integer(range.start))])),
      ("end", .object([("line", .integer(region.end.line)), ("column", .integer(region.end.column)), ("offset", .integer(range.end))])),
    ])
  }
}
