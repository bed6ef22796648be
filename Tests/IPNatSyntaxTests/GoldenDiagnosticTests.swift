import IPNatDiagnostics
import IPNatSyntax
import Testing

/// Every `Golden/Diagnostics/NAME.conf` is parsed (with host names refused, so nothing depends
/// on DNS) and its diagnostics, rendered as users see them, must equal `NAME.diag`.
/// `RECORD_GOLDEN=1 swift test` rewrites the `.diag` files.
@Suite struct GoldenDiagnosticTests {
  static let directory = testsDirectory + "/Golden/Diagnostics"
  static let cases = files(in: directory, endingWith: ".conf").map { String($0.dropLast(5)) }

  @Test func thereIsACasePerDiagnosticClass() {
    #expect(Self.cases.count >= 25)
  }

  @Test(arguments: cases)
  func rendersAsRecorded(_ name: String) throws {
    let text = try #require(readFile("\(Self.directory)/\(name).conf"))
    let file = SourceFile(name: "\(name).conf", text: text)
    let result = Parser.parse(file, options: ParseOptions(hostResolver: RefusingHostResolver()))
    #expect(!result.diagnostics.isEmpty, "a golden case must produce diagnostics")
    let rendered = DiagnosticRenderer().render(result.diagnostics, in: file)
    let goldenPath = "\(Self.directory)/\(name).diag"
    if Golden.isRecording {
      writeFile(goldenPath, rendered)
      return
    }
    let golden = try #require(readFile(goldenPath), "missing \(name).diag: run with RECORD_GOLDEN=1")
    #expect(rendered == golden)
  }
}
