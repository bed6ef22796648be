import IPNatDiagnostics
import IPNatKit
import IPNatSyntax
import Testing

@Suite struct VariableTests {
  @Test func definitionsApplyFromTheNextTokenOn() {
    #expect(printed("""
      wan = "ppp0"; lan = "10.0.0.0/8";
      map $wan $lan -> 0/32
      wan = eth1;
      map ${wan} $lan -> 0/32
      """) == """
      map ppp0 10.0.0.0/8 -> 0/32
      map eth1 10.0.0.0/8 -> 0/32
      """)
  }

  @Test func valuesExpandRecursivelyWhenUsed() {
    #expect(printed("""
      net = "$prefix.0/24"; prefix = "10.1.2";
      map le0 $net -> 0/32
      """) == "map le0 10.1.2.0/24 -> 0/32")
  }

  @Test func predefinedVariables() {
    let options = ParseOptions(hostResolver: testHosts, predefinedVariables: [("ext", "ppp0"), ("ext", "eth9")])
    let result = parse("map $ext 0/0 -> 0/32", options: options)
    #expect(CanonicalPrinter.print(result.config) == "map eth9 0/0 -> 0/32\n")
  }

  @Test func undefinedCyclicAndDeepVariablesAreErrors() {
    #expect(diagnosticIDs("map $nothing 0/0 -> 0/32") == ["var.undefined"])
    #expect(diagnosticIDs("a = \"$b\"; b = \"$a\"; map $a 0/0 -> 0/32") == ["var.cycle"])
    var chain = "v0 = \"le0\";\n"
    for level in 1...5000 { chain += "v\(level) = \"$v\(level - 1)\";\n" }
    chain += "map $v5000 0/0 -> 0/32\n"
    #expect(diagnosticIDs(chain) == ["var.too-deep"])
  }

  @Test func expansionThatDoublesPerLevelStopsAtTheSizeLimit() {
    var text = "x0 = \"aaaaaaaaaaaaaaaa\";\n"
    for level in 1...40 { text += "x\(level) = \"$x\(level - 1)$x\(level - 1)\";\n" }
    text += "map $x40 0/0 -> 0/32\n"
    #expect(diagnosticIDs(text) == ["var.too-long"])
  }

  @Test func variableNamesAreChecked() {
    #expect(diagnosticIDs("map = \"x\";") == ["parse.keyword-variable"])
    #expect(diagnosticIDs("x = 10.0.0.1;") == ["parse.unquoted-value"])
  }

  /// The lexer keeps the texts of quoted words and of values' tokens only while a token holds
  /// them, and lets the rest go between statements: a value that runs on into the next
  /// statement keeps the texts of its tokens still to come.
  @Test func textsOfQuotedWordsAndValuesSurviveLongFiles() {
    var text = "two = \"eth1 10.1.0.0/16 -> 0/32; map \\\"q 0\\\"\";\n"
    var expected: [String] = []
    for index in 0..<300 {
      let network = "10.\(index / 256).\(index % 256).0/24"
      text += "map \"if \(index)\" \(network) -> 0/32\nmap $two \(network) -> 0/32\n"
      expected += ["map \"if \(index)\" \(network) -> 0/32", "map eth1 10.1.0.0/16 -> 0/32", "map \"q 0\" \(network) -> 0/32"]
    }
    #expect(printed(text) == expected.joined(separator: "\n"))
  }

  @Test func errorsInsideAValuePointAtTheReferenceWithANote() throws {
    let result = parse("net = \"10.0.0.999\";\nmap le0 $net -> 0/32\n")
    let error = try #require(result.diagnostics.first)
    #expect(error.id == "parse.invalid-ipv4")
    let file = SourceFile(name: "test.conf", text: "net = \"10.0.0.999\";\nmap le0 $net -> 0/32\n")
    #expect(file.location(of: error.range!.start) == IPNatDiagnostics.SourceLocation(line: 2, column: 9))
  }
}

@Suite struct PredefinedVariableTests {
  @Test func environmentEntriesToleratesSpacesAndReportsBadOnes() {
    let file = SourceFile(name: "t", text: "map $a $b -> 0/32")
    let result = IPNat.parse(file, options: FrontendOptions(resolveHostNames: false, predefined: "a=le0; b=10.0.0.0/8;;junk"))
    #expect(result.diagnostics.map(\.id.rawValue) == ["var.bad-predefined"])
    #expect(CanonicalPrinter.print(result.config) == "map le0 10.0.0.0/8 -> 0/32\n")
  }
}
