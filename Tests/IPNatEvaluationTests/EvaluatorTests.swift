import IPAddressing
import IPNatDiagnostics
import IPNatEvaluation
import IPNatKit
import NFTModel
import TestSupport
import Testing

/// `ipnat test`'s evaluator on the lowered rulesets of the Samples, folded and not, against
/// packet lines and their recorded answers.
@Suite struct EvaluatorTests {
  static let root = directory() + "/../.."
  static let golden = directory() + "/Golden"

  static func table(_ sample: String, fold: Bool = true) throws -> Table {
    let bytes = try #require(readBytes("\(root)/Samples/\(sample)"))
    let file = SourceFile(name: "Samples/\(sample)", bytes: bytes)
    var options = LoweringOptions()
    if !fold { options.foldThreshold = nil }
    let (table, diagnostics) = IPNat.lower(file, options: FrontendOptions(resolveHostNames: false), lowering: options)
    #expect(!diagnostics.hasErrors)
    return try #require(table)
  }

  static func answers(_ packets: String, sample: String, fold: Bool = true, addresses: [String: IPAddress] = [:])
    throws -> (answers: [PacketTest.Answer], lines: PacketLineReader.Result, file: SourceFile)
  {
    let file = SourceFile(name: packets.split(separator: "/").last.map(String.init) ?? packets,
                          bytes: try #require(readBytes(packets)))
    let read = PacketLineReader.read(file)
    var options = Evaluator.Options()
    options.interfaceAddresses = addresses
    return (PacketTest.run(read.lines, table: try table(sample, fold: fold), options: options), read, file)
  }

  /// The Sample expectations file holds, folded and not.
  @Test(arguments: [true, false])
  func theSampleExpectationsHold(fold: Bool) throws {
    let (answers, read, _) = try Self.answers("\(Self.root)/Samples/ci/home-gateway.packets", sample: "home-gateway.conf",
                                              fold: fold, addresses: ["ppp0": .ipv4(0xCB00_7105)])
    #expect(read.diagnostics.isEmpty && answers.count == 9)
    let unmet = answers.compactMap(\.unmet).map(\.message)
    #expect(unmet.isEmpty, "\(unmet)")
  }

  /// Text and JSON answers, recorded; round-robin gives every server, a range shifts a port,
  /// a wrong expectation is a diagnostic at its line.
  @Test func webFarmAnswersAsRecorded() throws {
    let (answers, _, file) = try Self.answers("\(Self.golden)/web-farm.packets", sample: "web-farm-round-robin.conf")
    let text = PacketTest.text(answers, packetsFile: file.name)
    #expect(Golden.recorded(at: "\(Self.golden)/web-farm.txt", actual: text) == text)
    let json = PacketTest.json(answers, packetsFile: file.name)
    #expect(Golden.recorded(at: "\(Self.golden)/web-farm.json", actual: json) == json)
    let servers = Set(answers[0].evaluation.outcomes.map(\.destination.description))
    #expect(servers == ["10.0.1.11,80", "10.0.1.12,80", "10.0.1.13,80"])
    let diagnostics = DiagnosticRenderer(useColor: false).render(answers.compactMap(\.unmet), in: file)
    #expect(Golden.recorded(at: "\(Self.golden)/web-farm.diag", actual: diagnostics) == diagnostics)
  }

  @Test func malformedLinesAreReportedAtTheirPlace() throws {
    let file = SourceFile(name: "bad-lines.packets", bytes: try #require(readBytes("\(Self.golden)/bad-lines.packets")))
    let read = PacketLineReader.read(file)
    #expect(read.lines.count == 1)
    let rendered = DiagnosticRenderer(useColor: false).render(read.diagnostics, in: file)
    #expect(Golden.recorded(at: "\(Self.golden)/bad-lines.diag", actual: rendered) == rendered)
  }
}

/// The evaluator on hand-built IR: the cases the lowering makes rarely, but the kernel's rules
/// for them are plain.
@Suite struct EvaluatorSemanticsTests {
  static func table(_ rules: [Rule]) -> Table {
    Table(family: .inet, name: "t", chains: [Chain(name: "dstnat", base: BaseChain(kind: .nat, hook: .prerouting,
                                                                                   priority: .named(.dstnat, offset: 0)),
                                                   rules: rules)])
  }

  static func dnat(_ address: UInt32, line: Int) -> Rule {
    Rule(statements: [.nat(NATStatement(.dnat, family: .ip, address: .address(.ipv4(address))))],
         origin: Origin(file: "t.conf", line: line, text: "rule \(line)"))
  }

  static let tcpPacket = Packet(direction: .incoming, interface: "wan0", protocolNumber: 6,
                                source: Endpoint(.ipv4(0xC000_0202), port: 40000), destination: Endpoint(.ipv4(0xC000_0201), port: 80))

  /// `udp dport != 53` on a TCP packet: nft's implicit `meta l4proto udp` fails first.
  @Test func aFieldThePacketLacksMatchesNothingEvenNegated() {
    var rule = Self.dnat(0x0A00_0002, line: 1)
    rule.matches = [Match(.payload(PayloadField(.udp, .dport)), .notEqual, .integer(53))]
    let outcomes = Evaluator(table: Self.table([rule])).evaluate(Self.tcpPacket).outcomes
    #expect(outcomes.count == 1 && !outcomes[0].isTranslated)
  }

  /// `numgen inc mod 2 0` in a match: both values are followed, so both rules may translate.
  @Test func numgenInAMatchGivesEveryChoice() {
    var first = Self.dnat(0x0A00_0002, line: 1)
    first.matches = [Match(.numgenIncrement(modulus: 2), .integer(0))]
    let outcomes = Evaluator(table: Self.table([first, Self.dnat(0x0A00_0003, line: 2)])).evaluate(Self.tcpPacket).outcomes
    #expect(outcomes.map { $0.rule?.line } == [1, 2])
  }

  /// A rule that needs the route (`fib`) is taken as not matching, and the answer says so.
  @Test func whatALineDoesNotGiveIsANote() {
    var rule = Self.dnat(0x0A00_0002, line: 1)
    rule.matches = [Match(.routeOutputName, .string("eth0"))]
    let evaluation = Evaluator(table: Self.table([rule])).evaluate(Self.tcpPacket)
    #expect(!evaluation.outcomes[0].isTranslated && evaluation.notes.count == 1)
  }

  /// An IR the evaluator cannot follow gives no outcome, a note, and an unmet expectation: an
  /// expectation never holds by default.
  @Test func whatItCannotEvaluateNeverMeetsAnExpectation() throws {
    let rule = Rule(statements: [.nat(NATStatement(.dnat, family: .ip, address: .selector(.meta(.mark))))])
    let file = SourceFile(name: "p", text: "in on wan0 tcp 192.0.2.2,40000 192.0.2.1,80 => unchanged\n")
    let lines = PacketLineReader.read(file).lines
    let answer = try #require(PacketTest.run(lines, table: Self.table([rule]), options: Evaluator.Options()).first)
    #expect(answer.evaluation.outcomes.isEmpty && !answer.evaluation.notes.isEmpty)
    #expect(answer.unmet?.message.hasPrefix("ipnat cannot tell what Linux makes of this packet") == true)
  }

  /// `accept` by a rule with an origin (a `no` rule) stops the search, and is named.
  @Test func aNoRuleStopsTheSearch() {
    let stop = Rule(statements: [.verdict(.accept)], origin: Origin(file: "t.conf", line: 1, text: "no rdr"))
    let outcome = Evaluator(table: Self.table([stop, Self.dnat(0x0A00_0002, line: 2)])).evaluate(Self.tcpPacket).outcomes[0]
    #expect(!outcome.isTranslated && outcome.stoppedBy?.line == 1)
  }
}

/// A packet crosses the router: prerouting, then postrouting, each on the lowered IR of a
/// configuration written here.
@Suite struct ForwardingPathTests {
  static func evaluate(_ conf: String, _ line: String) throws -> Evaluator.Evaluation {
    let file = SourceFile(name: "t.conf", text: conf)
    let table = try #require(IPNat.lower(file, options: FrontendOptions(resolveHostNames: false), lowering: LoweringOptions()).table)
    let packet = try #require(PacketLineReader.read(SourceFile(name: "p", text: line + "\n")).lines.first).packet
    return Evaluator(table: table).evaluate(packet)
  }

  /// A `rewrite` of both addresses is done by Linux in both hooks; the answer has both halves.
  @Test func aRewriteIsTranslatedInBothHooks() throws {
    let evaluation = try Self.evaluate(
      "rewrite in on eth0 proto tcp from 192.0.2.0/24 to 203.0.113.1/32 port = 80 -> src 10.0.0.1/32,40000-40010 dst 10.0.0.5/32,port = 8080;\n",
      "in on eth0 tcp 192.0.2.7,4000 203.0.113.1,80")
    let outcome = try #require(evaluation.outcomes.first)
    #expect(evaluation.outcomes.count == 1 && evaluation.notes.isEmpty)
    #expect("\(outcome.source) \(outcome.destination)" == "10.0.0.1,40000-40010 10.0.0.5,8080")
    #expect(outcome.rule?.line == 1 && outcome.secondRule == nil)
  }

  /// A redirected packet leaves by another interface: a map on its own interface cannot take
  /// it, silently; a map on a named other interface might, and a note says the answer assumes not.
  @Test func theOtherInterfaceIsNotThePacketsOwn() throws {
    let rules = "rdr eth0 203.0.113.1/32 port 80 -> 10.0.0.5 port 80 tcp\nmap eth0 0/0 -> 0/32\n"
    let packet = "in on eth0 tcp 198.51.100.7,4000 203.0.113.1,80"
    let own = try Self.evaluate(rules, packet)
    #expect(own.outcomes.map { "\($0.destination) \($0.rule?.line ?? 0) \($0.secondRule?.line ?? 0)" } == ["10.0.0.5,80 1 0"])
    #expect(own.notes.isEmpty)
    let other = try Self.evaluate(rules + "map eth1 0/0 -> 0/32\n", packet)
    #expect(other.outcomes.count == 1 && other.notes.count == 1)
  }

  /// `portmap … sequential` is `numgen inc` over a map of every port: one range, not one
  /// outcome per port.
  @Test func aSequentialPortmapIsOneRange() throws {
    let evaluation = try Self.evaluate("map eth1 10.20.0.0/16 -> 203.0.113.17/32 portmap tcp/udp 20000:60000 sequential\n",
                                       "out on eth1 udp 10.20.1.2,5000 192.0.2.53,53")
    #expect(evaluation.outcomes.map { "\($0.source)" } == ["203.0.113.17,20000-60000"] && evaluation.notes.isEmpty)
  }

  /// Only an ICMP or ICMPv6 request begins a connection; an error or a reply alone passes as it
  /// is, whatever the rules say (the kernel's answer, seen with packets: a `map` translated
  /// echo, timestamp and address-mask requests and left destination-unreachable, redirect,
  /// time-exceeded, echo-reply and router-advertisement as they were). ICMPv6 names its types
  /// by ICMPv6's numbers.
  @Test func onlyAnICMPRequestBeginsAConnection() throws {
    let rules = "map eth0 10.0.0.0/24 -> 192.0.2.1/32\nmap eth0 fd00::/64 -> 2001:db8::1/128\n"
    func answer(_ line: String) throws -> String {
      let outcomes = try Self.evaluate(rules, line).outcomes
      return outcomes.map { "\($0.source) \($0.rule?.line ?? 0) \($0.beginsConnection)" }.joined(separator: " or ")
    }
    for request in ["echo", "timestamp-request", "info-request", "address-mask-request"] {
      #expect(try answer("out on eth0 icmp 10.0.0.2 198.51.100.9 \(request)") == "192.0.2.1 1 true", "\(request)")
    }
    for other in ["echo-reply", "destination-unreachable", "redirect", "time-exceeded", "router-advertisement", "12"] {
      #expect(try answer("out on eth0 icmp 10.0.0.2 198.51.100.9 \(other)") == "10.0.0.2 0 false", "\(other)")
    }
    #expect(try answer("out on eth0 icmpv6 fd00::2 2001:db8:9::9 echo-request") == "2001:db8::1 2 true")
    #expect(try answer("out on eth0 icmpv6 fd00::2 2001:db8:9::9 139") == "2001:db8::1 2 true")
    for other in ["echo-reply", "destination-unreachable", "packet-too-big", "nd-neighbor-solicit"] {
      #expect(try answer("out on eth0 icmpv6 fd00::2 2001:db8:9::9 \(other)") == "fd00::2 0 false", "\(other)")
    }
  }
}
