import IPNatDiagnostics
import IPNatSyntax
import Testing

/// The checks IPFilter's parser makes, and the ones ipnat adds, each as a diagnostic id.
@Suite struct ErrorTests {
  @Test(arguments: [
    ("map le0 10.0.0.0/8 1.2.3.4", "parse.expected"),
    ("map le0 10.0.0.256 -> 0/32", "parse.invalid-ipv4"),
    ("map le0 10.1 -> 0/32", "parse.invalid-ipv4"),
    ("map le0 10.0.0.0/33 -> 0/32", "parse.invalid-mask"),
    ("map le0 inet6 ::/0xff -> ::1", "parse.invalid-mask"),
    ("map le0 10.0.0.0/8 -> ::1", "parse.family-mismatch"),
    ("map le0 inet6 10.0.0.0/8 -> ::1", "parse.family-mismatch"),
    ("rdr le0 1.2.3.4 port 65536 -> 10.0.0.1 tcp", "parse.invalid-port"),
    ("rdr le0 1.2.3.4 port nosuchservice -> 10.0.0.1 tcp", "parse.unknown-service"),
    ("map le0 0/0 -> 0/32 nosuchprotocol", "parse.unknown-protocol"),
    ("map le0 0/0 -> 0/32 portmap tcp auto udp", "parse.protocol-set-twice"),
    ("rdr le0 1.2.3.4 -> 10.0.0.0/24 tcp", "parse.rdr-target-not-host"),
    ("map le0 pool/1 -> 0/32", "parse.lookup-outside-from-to"),
    ("map le0 0/0 -> 0/32 age 1 frag", "parse.option-order"),
    ("rdr le0 1.2.3.4 -> 10.0.0.1 frag tcp", "parse.option-order"),
    ("map le0 0/0 -> 0/32 frag frag", "parse.duplicate-option"),
    ("map le0 0/0 -> 0/32 sticky", "parse.invalid-option"),
    ("map le0 ! from any to any -> 0/32", "parse.invalid-negation"),
    ("rdr le0 from any to ! 1.2.3.4 -> 10.0.0.1", "parse.invalid-negation"),
    ("rdr le0 ! from ! any to any -> 10.0.0.1", "parse.double-negation"),
    ("rdr le0 1.2.3.4 port 90-80 -> 10.0.0.1 tcp", "parse.reversed-range"),
    ("map le0 0/0 -> 0/32 mssclamp 99999999999999999999", "parse.number-too-large"),
    ("map le0 0/0 -> 0/32 proxy port 21 ftp/tcp sticky", "parse.invalid-option"),
    ("map le0 from any to any port = 22 -> 0/32 proxy port 21 ftp/tcp", "parse.proxy-port-mismatch"),
    ("map le0 0/0 -> 0/32 icmpidmap tcp 1:2", "parse.expected"),
    ("map le0 0/0 -> range 1.2.3.4-1.2.3.5 icmpidmap icmp 1:2", "parse.icmpidmap-range"),
    ("rewrite in on le0 from any to any -> src 1.1.1.1,80 dst 2.2.2.2;", "parse.ports-need-tcp-udp"),
    ("divert in on le0 from any to any -> src 1.1.1.0/24,1 dst 2.2.2.2,2 udp;", "parse.divert-not-host"),
    ("no map le0 10.0.0.0/8", "parse.expected"),
    ("rewrite in on le0 from any to any -> src 0/0 dst 0/0", "parse.expected"),
    ("encap in on le0 from any to any -> src 1.1.1.1 dst 2.2.2.2;", "parse.unsupported-rule"),
    ("rdr le0 1.2.3.4 -> 10.0.0.1/32,10.0.0.2 tcp", "parse.masked-split"),
    ("map le0 0/0 -> 1.2.3.4/32-1.2.3.5", "parse.masked-range"),
    ("rdr le0 1.2.3.4 port 21 -> 10.0.0.1 port 21 udp proxy port 21 ftp/tcp", "parse.protocol-set-twice"),
  ])
  func reports(input: String, id: String) {
    #expect(diagnosticIDs(input) == [id], "for \(input)")
  }

  @Test func hostNamesDependOnTheResolver() {
    #expect(diagnosticIDs("map le0 nowhere.example -> 0/32") == ["parse.unknown-host"])
    let strict = ParseOptions(hostResolver: RefusingHostResolver())
    #expect(parse("map le0 gateway.example -> 0/32", options: strict).diagnostics.map(\.id) == ["parse.host-name"])
  }

  @Test func everyErrorInTheFileIsReportedAndRecoveryResumesAtTheNextRule() {
    let result = parse("""
      map le0 10.0.0.0/8 1.2.3.4
      map le0 10.0.0.0/8 -> 0/32
      rdr le0 1.2.3.4 port 99999 -> 10.0.0.1 tcp
      bogus words here
      map le0 192.168.0.0/16 -> 0/32;
      """)
    #expect(result.diagnostics.map(\.id.rawValue) == ["parse.expected", "parse.invalid-port", "parse.expected"])
    #expect(CanonicalPrinter.print(result.config) == "map le0 10.0.0.0/8 -> 0/32\nmap le0 192.168.0.0/16 -> 0/32\n")
  }

  @Test func errorCountIsCapped() {
    let text = String(repeating: "map le0 10.0.0.256 -> 0/32\n", count: 500)
    let result = Parser.parse(SourceFile(name: "x", text: text), options: ParseOptions(hostResolver: testHosts, maximumErrors: 20))
    #expect(result.diagnostics.count == 21)
    #expect(result.diagnostics.last?.id == "parse.too-many-errors")
  }

  @Test func aFileWithMoreRulesThanTheLimitIsRefusedAtTheFirstRuleTooMany() {
    let text = "wan = \"eth0\";\n" + String(repeating: "map $wan 10.0.0.0/8 -> 0/32\n", count: 5)
    let options = ParseOptions(hostResolver: testHosts, maximumRules: 3)
    let result = Parser.parse(SourceFile(name: "x", text: text), options: options)
    #expect(result.diagnostics.map(\.id.rawValue) == ["parse.too-many-rules"])
    #expect(result.diagnostics.first.map { SourceFile(name: "x", text: text).location(of: $0.range!.start).line } == 5)
    #expect(result.config.rules.count == 3)
    let atTheLimit = Parser.parse(SourceFile(name: "x", text: text), options: ParseOptions(hostResolver: testHosts, maximumRules: 5))
    #expect(atTheLimit.diagnostics.isEmpty)
    #expect(ParseOptions().maximumRules == 1_000_000)
  }

  @Test func warningsDoNotDropRules() {
    let result = parse("map le0 0/0 -> 0/32 tag abcdefghijklmnopqrstuvwxyz;;")
    #expect(result.diagnostics.map(\.id.rawValue) == ["parse.long-tag", "parse.empty-statement"])
    #expect(result.diagnostics.allSatisfy { $0.severity == .warning })
    #expect(CanonicalPrinter.print(result.config) == "map le0 0/0 -> 0/32 tag abcdefghijklmnop\n")
  }
}

@Suite struct HostileInputTests {
  @Test func aHugeWordGivesAShortDiagnostic() {
    let file = SourceFile(name: "long.conf", text: String(repeating: "a", count: 2_000_000) + "\n")
    let result = Parser.parse(file, options: ParseOptions(hostResolver: testHosts))
    #expect(result.diagnostics.map(\.id.rawValue) == ["parse.expected"])
    let rendered = DiagnosticRenderer().render(result.diagnostics, in: file)
    #expect(rendered.utf8.count < 1000)
  }

  @Test func tooLargeNumbersAreReportedOnce() {
    #expect(diagnosticIDs("rdr le0 1.2.3.4 port 99999999999999999999 -> 1.1.1.1 tcp") == ["parse.number-too-large"])
  }
}
