import IPNatDiagnostics
import IPNatKit
import TestSupport
import Testing

/// Every sample lints clean; where a sample silences a warning, the comment says why.
@Suite struct SampleLintTests {
  static let samples = TestSupport.directory(of: #filePath) + "/../../Samples"

  @Test(arguments: files(in: samples, endingWith: ".conf"))
  func lintsClean(_ name: String) throws {
    let text = try #require(readFile("\(Self.samples)/\(name)"))
    let file = SourceFile(name: name, text: text)
    var options = FrontendOptions()
    options.resolveHostNames = false
    let diagnostics = IPNat.lint(file, options: options)
    #expect(diagnostics.isEmpty, "\(DiagnosticRenderer().render(diagnostics, in: file))")
    for line in text.split(separator: "\n") where line.contains("ipnat: disable") {
      // `# ipnat: disable=ID (reason)`: something must follow the ids.
      let afterIDs = line.split(separator: "=", maxSplits: 1).last?.drop { !$0.isWhitespace } ?? ""
      #expect(!afterIDs.trimmingPrefix(while: \.isWhitespace).isEmpty, "no reason given: \(line)")
    }
  }
}
