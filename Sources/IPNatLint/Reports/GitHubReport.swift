import IPNatDiagnostics

/// `ipnat lint --format github`: GitHub Actions workflow commands, which the runner turns into
/// annotations on the pull request's diff:
/// `::warning file=gw.conf,line=3,col=5,endLine=3,endColumn=18,title=lint.pool-clash::message`.
public enum GitHubReport {
  public static func render(_ report: LintReport) -> String {
    report.entries.flatMap { entry in entry.diagnostics.map { command($0, in: entry.file) } }.joined()
  }

  private static func command(_ diagnostic: Diagnostic, in file: SourceFile) -> String {
    // GitHub knows error, warning and notice.
    let level = diagnostic.severity == .note ? "notice" : diagnostic.severity.rawValue
    var properties = [("file", file.name)]
    if let range = diagnostic.range {
      let region = ReportRegion(range, in: file, columns: .scalars)
      properties += [
        ("line", "\(region.start.line)"), ("col", "\(region.start.column)"),
        ("endLine", "\(region.end.line)"), ("endColumn", "\(region.end.column)"),
      ]
    }
    properties.append(("title", diagnostic.id.rawValue))
    var message = diagnostic.message
    for note in diagnostic.notes {
      let place = note.range.map { " (line \(file.location(of: $0.start).line))" } ?? ""
      message += "\nnote\(place): \(note.message)"
    }
    for fixIt in diagnostic.fixIts { message += "\nfix: \(fixIt.message): '\(fixIt.replacement)'" }
    let list = properties.map { "\($0.0)=\(escapeProperty($0.1))" }.joined(separator: ",")
    return "::\(level) \(list)::\(escapeData(message))\n"
  }

  /// The runner's escaping (actions/toolkit `command.ts`): `%`, CR and LF in messages…
  static func escapeData(_ text: String) -> String {
    text.replacingAll("%", "%25").replacingAll("\r", "%0D").replacingAll("\n", "%0A")
  }

  /// …and also `:` and `,` in properties.
  static func escapeProperty(_ text: String) -> String {
    escapeData(text).replacingAll(":", "%3A").replacingAll(",", "%2C")
  }
}

extension String {
  /// Scalar by scalar, so that the CR of a CRLF pair (one Character) is found too.
  func replacingAll(_ target: Unicode.Scalar, _ replacement: String) -> String {
    var result = ""
    for scalar in unicodeScalars {
      if scalar == target { result += replacement } else { result.unicodeScalars.append(scalar) }
    }
    return result
  }
}
