import IPAddressing
import IPNatDiagnostics
import IPNatKit
import IPNatLint
import IPNatSyntax
import TestSupport
import Testing

/// One case per check in `Checks/`: `ID.conf` triggers the check and its diagnostics, rendered
/// as `ipnat lint` prints them, must equal `ID.diag`; `ID.clean.conf` is the near miss and must
/// lint clean. Besides lint's own checks there are cases for the lowering's refusals the lint
/// issue names. `RECORD_GOLDEN=1 swift test` rewrites the `.diag` files.
@Suite struct LintCheckTests {
  static let directory = TestSupport.directory(of: #filePath) + "/Checks"
  static let cases = files(in: directory, endingWith: ".conf").filter { !$0.hasSuffix(".clean.conf") }
    .map { String($0.dropLast(".conf".count)) }

  /// Names in the cases resolve from this table, never from DNS.
  static let hosts = TableHostResolver(["web.example": .ipv4(0x0A00_0005)])

  static func lint(_ name: String, _ text: String) -> (SourceFile, [Diagnostic]) {
    let file = SourceFile(name: name, text: text)
    var options = FrontendOptions()
    options.hostResolver = hosts
    return (file, IPNat.lint(file, options: options))
  }

  @Test func everyCheckHasACaseAndANearMiss() {
    for check in LintRegistry.checks {
      #expect(Self.cases.contains(check.id.rawValue), "no Checks/\(check.id).conf")
      #expect(readFile("\(Self.directory)/\(check.id).clean.conf") != nil, "no Checks/\(check.id).clean.conf")
    }
  }

  @Test(arguments: cases)
  func triggers(_ id: String) throws {
    let text = try #require(readFile("\(Self.directory)/\(id).conf"))
    let (file, diagnostics) = Self.lint("\(id).conf", text)
    #expect(diagnostics.contains { $0.id.rawValue == id }, "\(id).conf does not trigger \(id)")
    let rendered = DiagnosticRenderer().render(diagnostics, in: file)
    let golden = Golden.recorded(at: "\(Self.directory)/\(id).diag", actual: rendered)
    #expect(rendered == golden)
  }

  @Test(arguments: cases)
  func nearMissIsClean(_ id: String) throws {
    let text = try #require(readFile("\(Self.directory)/\(id).clean.conf"))
    let (file, diagnostics) = Self.lint("\(id).clean.conf", text)
    #expect(diagnostics.isEmpty, "\(DiagnosticRenderer().render(diagnostics, in: file))")
  }

  /// Forty port forwards on one address are looked up through the port index's buckets (a
  /// few rules are compared with each other directly): the overlap and the shadowed rule among
  /// them are still found, each once, and nothing else.
  @Test func manyRulesOnOneAddressAreComparedThroughTheIndex() {
    var text = ""
    for index in 0..<40 {
      let low = 1000 + index * 10
      text += "rdr eth0 192.0.2.1/32 port \(low)-\(low + 5) -> 10.0.0.\(index + 1) port \(low) tcp\n"
    }
    text += "rdr eth0 192.0.2.1/32 port 1003-1013 -> 10.0.1.1 port 1003 tcp\n"  // line 41: partly 1000-1005
    text += "rdr eth0 192.0.2.1/32 port 1200-1205 -> 10.0.1.2 port 1200 tcp\n"  // line 42: all of line 21
    let (file, diagnostics) = Self.lint("forwards.conf", text)
    let found = diagnostics.map { "\($0.id.rawValue) \(file.location(of: $0.range!.start).line)" }
    #expect(found == ["lint.rdr-overlap 41", "lint.shadowed-rule 42"])
  }

  /// A reference that fails to expand (here: nested too deeply) still uses the variable, and
  /// the chain behind it: the error is reported once, not buried under "never used" warnings.
  @Test func aVariableBehindAFailedExpansionIsNotUnused() {
    var text = "v0 = \"eth0\";\n"
    for level in 1...80 { text += "v\(level) = \"$v\(level - 1)\";\n" }
    text += "map $v80 10.0.0.0/8 -> 0/32\n"
    let (_, diagnostics) = Self.lint("deep.conf", text)
    #expect(diagnostics.map(\.id.rawValue) == ["var.too-deep"])
  }
}
