import IPNatDiagnostics
import JSONText

/// `ipnat lint --format sarif`: SARIF 2.1.0 (OASIS), which GitHub code scanning reads to show
/// findings inline. One run; the driver lists every lint check and each other id reported, so
/// a viewer can explain a result; notes become related locations, fix-its fixes.
public enum SARIFReport {
  public static func render(_ report: LintReport, toolVersion: String) -> String {
    var ruleIDs = LintRegistry.checks.map(\.id)
    for entry in report.entries {
      for diagnostic in entry.diagnostics where !ruleIDs.contains(diagnostic.id) { ruleIDs.append(diagnostic.id) }
    }
    let ruleIndex = Dictionary(uniqueKeysWithValues: ruleIDs.enumerated().map { ($0.element, $0.offset) })
    let results = report.entries.flatMap { entry in
      entry.diagnostics.map { result($0, in: entry.file, ruleIndex: ruleIndex[$0.id] ?? 0) }
    }
    let run = JSONValue.object([
      ("tool", .object([("driver", .object([
        ("name", .string("ipnat")),
        ("semanticVersion", .string(toolVersion)),
        ("rules", .array(ruleIDs.map(rule))),
      ]))])),
      ("columnKind", .string("unicodeCodePoints")),
      ("results", .array(results)),
    ])
    let document = JSONValue.object([
      ("$schema", .string("https://json.schemastore.org/sarif-2.1.0.json")),
      ("version", .string("2.1.0")),
      ("runs", .array([run])),
    ])
    return document.pretty() + "\n"
  }

  private static func rule(_ id: DiagnosticID) -> JSONValue {
    .object([
      ("id", .string(id.rawValue)),
      ("shortDescription", .object([("text", .string(LintRegistry.summary(of: id)))])),
      ("defaultConfiguration", .object([("level", .string(level(LintRegistry.severity(of: id))))])),
    ])
  }

  private static func result(_ diagnostic: Diagnostic, in file: SourceFile, ruleIndex: Int) -> JSONValue {
    var members: [(String, JSONValue)] = [
      ("ruleId", .string(diagnostic.id.rawValue)),
      ("ruleIndex", .integer(ruleIndex)),
      ("level", .string(level(diagnostic.severity))),
      ("message", .object([("text", .string(diagnostic.message))])),
      ("locations", .array([location(diagnostic.range, in: file)])),
    ]
    if !diagnostic.notes.isEmpty {
      members.append(("relatedLocations", .array(diagnostic.notes.enumerated().map { index, note in
        var related = location(note.range, in: file).members
        related.insert(JSONValue.Member("id", .integer(index)), at: 0)
        related.append(JSONValue.Member("message", .object([("text", .string(note.message))])))
        return .object(related)
      })))
    }
    if !diagnostic.fixIts.isEmpty {
      members.append(("fixes", .array(diagnostic.fixIts.map { fix($0, in: file) })))
    }
    return .object(members)
  }

  private static func fix(_ fixIt: FixIt, in file: SourceFile) -> JSONValue {
    .object([
      ("description", .object([("text", .string(fixIt.message))])),
      ("artifactChanges", .array([.object([
        ("artifactLocation", artifact(file)),
        ("replacements", .array([.object([
          ("deletedRegion", region(fixIt.range, in: file)),
          ("insertedContent", .object([("text", .string(fixIt.replacement))])),
        ])])),
      ])])),
    ])
  }

  private static func location(_ range: SourceRange?, in file: SourceFile) -> JSONValue {
    var physical: [(String, JSONValue)] = [("artifactLocation", artifact(file))]
    if let range { physical.append(("region", region(range, in: file))) }
    return .object([("physicalLocation", .object(physical))])
  }

  private static func region(_ range: SourceRange, in file: SourceFile) -> JSONValue {
    let region = ReportRegion(range, in: file, columns: .scalars)
    return .object([
      ("startLine", .integer(region.start.line)), ("startColumn", .integer(region.start.column)),
      ("endLine", .integer(region.end.line)), ("endColumn", .integer(region.end.column)),
    ])
  }

  private static func artifact(_ file: SourceFile) -> JSONValue {
    .object([("uri", .string(uriReference(file.name)))])
  }

  private static func level(_ severity: Severity) -> String {
    switch severity {
    case .error: "error"
    case .warning: "warning"
    case .note: "note"
    }
  }

  /// A relative URI reference for a path: every byte outside RFC 3986's unreserved set and
  /// `/` is percent-encoded (`<stdin>` becomes `%3Cstdin%3E`).
  static func uriReference(_ path: String) -> String {
    var encoded = ""
    for byte in path.utf8 {
      let scalar = Unicode.Scalar(byte)
      if scalar.properties.isASCIIHexDigit || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
        || "-._~/".unicodeScalars.contains(scalar)
      {
        encoded.unicodeScalars.append(scalar)
      } else {
        let hex = String(byte, radix: 16, uppercase: true)
        encoded += "%" + (hex.count == 1 ? "0" : "") + hex
      }
    }
    return encoded
  }
}

extension JSONValue {
  /// The members of an object; empty for anything else.
  var members: [Member] {
    if case .object(let members) = self { return members }
    return []
  }
}
