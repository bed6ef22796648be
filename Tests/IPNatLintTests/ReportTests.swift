import Foundation
import IPNatDiagnostics
import IPNatKit
import IPNatLint
import TestSupport
import Testing

/// The machine-readable forms of a lint report: ipnat's JSON, SARIF 2.1.0 and GitHub workflow
/// commands, over one file with a warning (with a note and a fix-it) and an error.
@Suite struct ReportTests {
  static let text = """
    ext = "eth0";
    map eth0 10.0.0.5/24 -> 203.0.113.1/32 portmap tcp/udp 1025:65535
    map-block eth0 10.1.0.0/24 -> 203.0.113.0/24 ports auto

    """
  static let report: LintReport = {
    let file = SourceFile(name: "dir/gate way,1:é.conf", text: text)
    return LintReport([LintReport.Entry(file: file, diagnostics: IPNat.lint(file))])
  }()

  static func object(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  @Test func theCaseHasAWarningAnErrorANoteAndAFixIt() {
    let diagnostics = Self.report.entries[0].diagnostics
    #expect(diagnostics.map(\.id) == ["lint.unused-variable", "lint.host-bits", "lower.map-block-equal-masks"])
    #expect(diagnostics.contains { !$0.fixIts.isEmpty && !$0.notes.isEmpty })
  }

  @Test func jsonFollowsTheDocumentedSchema() throws {
    let document = try Self.object(JSONReport.render(Self.report))
    #expect(document["version"] as? Int == 1)
    let summary = try #require(document["summary"] as? [String: Int])
    #expect(summary == ["errors": 1, "warnings": 2, "notes": 0])
    let files = try #require(document["files"] as? [[String: Any]])
    #expect(files.first?["path"] as? String == "dir/gate way,1:é.conf")
    let diagnostics = try #require(files.first?["diagnostics"] as? [[String: Any]])
    let hostBits = try #require(diagnostics.first { $0["id"] as? String == "lint.host-bits" })
    #expect(hostBits["severity"] as? String == "warning")
    let range = try #require(hostBits["range"] as? [String: [String: Int]])
    #expect(range["start"] == ["line": 2, "column": 10, "offset": 23])
    #expect(range["end"] == ["line": 2, "column": 21, "offset": 34])
    let fixIt = try #require((hostBits["fixIts"] as? [[String: Any]])?.first)
    #expect(fixIt["replacement"] as? String == "10.0.0.0")
  }

  @Test func sarifNamesRulesAndRegions() throws {
    let document = try Self.object(SARIFReport.render(Self.report, toolVersion: "0.1.0"))
    #expect(document["version"] as? String == "2.1.0")
    let run = try #require((document["runs"] as? [[String: Any]])?.first)
    let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
    let rules = try #require(driver["rules"] as? [[String: Any]])
    let ruleIDs = rules.compactMap { $0["id"] as? String }
    // Every lint check is described, and so is each other id the run reports.
    #expect(Set(LintRegistry.checks.map(\.id.rawValue)).isSubset(of: ruleIDs))
    #expect(ruleIDs.contains("lower.map-block-equal-masks"))
    let results = try #require(run["results"] as? [[String: Any]])
    #expect(results.count == 3)
    for result in results {
      let index = try #require(result["ruleIndex"] as? Int)
      #expect(ruleIDs[index] == result["ruleId"] as? String)
      let level = (rules[index]["defaultConfiguration"] as? [String: String])?["level"]
      #expect(level == result["level"] as? String, "a rule's default level is the level it is reported at")
    }
    let suppression = rules.first { $0["id"] as? String == "lint.bad-suppression" }
    #expect(suppression == nil || (suppression?["defaultConfiguration"] as? [String: String])?["level"] == "warning")
    let location = try #require((results[1]["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])
    #expect((location["artifactLocation"] as? [String: String])?["uri"] == "dir/gate%20way%2C1%3A%C3%A9.conf")
    #expect(location["region"] as? [String: Int] == ["startLine": 2, "startColumn": 10, "endLine": 2, "endColumn": 21])
  }

  /// The schema lives in ../shared, beside the checkout; without it (or without python3's
  /// jsonschema) there is nothing to validate against, and the test says so.
  @Test func sarifIsValidAgainstTheSchema() throws {
    let schema = TestSupport.directory(of: #filePath) + "/../../../shared/schemas/sarif-schema-2.1.0.json"
    guard readFile(schema) != nil else {
      print("skipped: no SARIF schema at \(schema)")
      return
    }
    let sarif = SARIFReport.render(Self.report, toolVersion: "0.1.0")
    let script = """
      import json, sys
      try:
          import jsonschema
      except ImportError:
          print("no jsonschema"); sys.exit(0)
      schema = json.load(open(sys.argv[1]))
      jsonschema.validate(json.load(sys.stdin), schema)
      print("valid")
      """
    let result = try Shell.run("/usr/bin/env", ["python3", "-c", script, schema], input: sarif)
    #expect(result.status == 0, "\(result.standardError)")
    if result.standardOutput.contains("no jsonschema") { print("skipped: python3 has no jsonschema") }
    else { #expect(result.standardOutput.contains("valid")) }
  }

  @Test func githubCommandsEscapeTheirProperties() {
    let commands = GitHubReport.render(Self.report).split(separator: "\n").map(String.init)
    #expect(commands.count == 3)
    #expect(commands[1].hasPrefix(
      "::warning file=dir/gate way%2C1%3Aé.conf,line=2,col=10,endLine=2,endColumn=21,title=lint.host-bits::10.0.0.5/24 has host bits set"))
    #expect(commands[1].contains("%0Anote: if the host 10.0.0.5 was meant"))
    #expect(commands[2].hasPrefix("::error file="))
  }
}
