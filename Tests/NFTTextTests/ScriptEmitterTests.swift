import TestSupport
import IPAddressing
import NFTModel
@testable import NFTText
import Testing

/// The table layout the lowering builds (its effect checked with packets), built as IR.
let layout: Table = {
  let wan = Expression.string("rwan")
  let lan = Expression.prefix(.ipv4(0x0A00_0000), length: 16)
  let origin = Origin(file: "ipnat.conf", line: 3, text: "map rwan 10.0.0.0/16 -> 0/32 portmap tcp/udp 10000:20000")
  return Table(
    family: .inet, name: "ipnat",
    objects: [
      .conntrackHelper(ConntrackHelper(name: "ftp_std", type: "ftp", transport: .tcp, family: .inet)),
      .conntrackTimeout(ConntrackTimeout(name: "age_3_udp4", transport: .udp, family: .ip,
                                         policy: [.init("unreplied", 30), .init("replied", 30)])),
    ],
    maps: [
      NamedMap(name: "rdr_g1", key: [.ipv4Address, .service], data: [.ipv4Address, .service], elements: [
        MapElement(.concatenation([.address(.ipv4(0xC000_0201)), .integer(80)]),
                   .concatenation([.address(.ipv4(0x0A00_0005)), .integer(8080)])),
        MapElement(.concatenation([.address(.ipv4(0xC000_0201)), .integer(81)]),
                   .concatenation([.address(.ipv4(0x0A00_0006)), .integer(81)])),
      ]),
      NamedMap(name: "mb_1", key: [.ipv4Address], data: [.ipv4Address, .service], intervalData: true, elements: [
        MapElement(.address(.ipv4(0x0A00_0000)), .concatenation([.address(.ipv4(0xCB00_7100)), .integerRange(1024, 1275)])),
        MapElement(.address(.ipv4(0x0A00_0001)), .concatenation([.address(.ipv4(0xCB00_7100)), .integerRange(1276, 1527)])),
      ]),
    ],
    chains: [
      Chain(name: "ct_attrs", base: BaseChain(kind: .filter, hook: .forward, priority: .named(.mangle, offset: 0)), rules: [
        Rule(matches: [Match(.meta(.oifname), wan), Match(.payload(.init(.ip, .saddr)), lan),
                       Match(.payload(.init(.tcp, .dport)), .integer(21))],
             statements: [.setConntrackHelper("ftp_std")]),
        Rule(matches: [Match(.meta(.iifname), wan), Match(.meta(.l4proto), .symbol("tcp")),
                       Match(.conntrack(.originalDestinationAddress(.ip)), .address(.ipv4(0xC000_0201))),
                       Match(.conntrack(.originalDestinationPort), .integer(21))],
             statements: [.setConntrackHelper("ftp_std")]),
        Rule(matches: [Match(.meta(.oifname), wan), Match(.payload(.init(.ip, .saddr)), lan),
                       Match(.meta(.l4proto), .symbol("udp"))],
             statements: [.setConntrackTimeout("age_3_udp4")]),
      ]),
      Chain(name: "mssclamp", base: BaseChain(kind: .filter, hook: .forward, priority: .named(.mangle, offset: 1)), rules: [
        Rule(matches: [Match(.meta(.oifname), wan),
                       Match(.bitwiseAnd(.selector(.payload(.init(.tcp, .flags))), .bitwiseOr([.symbol("syn"), .symbol("rst")])),
                             .equal, .symbol("syn")),
                       Match(.tcpMaxSegmentSize, .greater, .integer(1452))],
             statements: [.setMaximumSegmentSize(1452)]),
      ]),
      Chain(name: "dstnat", base: BaseChain(kind: .nat, hook: .prerouting, priority: .named(.dstnat, offset: 0)), rules: [
        Rule(statements: [.verdictMap(key: .selector(.meta(.iifname)), [VerdictMapEntry(wan, .jump("rdr_rwan"))])],
             counter: false),
      ]),
      Chain(name: "rdr_rwan", rules: [
        Rule(matches: [Match(.payload(.init(.ip, .daddr)), .address(.ipv4(0xC000_0201))),
                       Match(.payload(.init(.tcp, .dport)), .integer(21))],
             statements: [.nat(NATStatement(.dnat, family: .ip, address: .address(.ipv4(0x0A00_0005))))]),
        Rule(matches: [Match(.meta(.l4proto), .symbol("tcp"))],
             statements: [.nat(NATStatement(.dnat, family: .ip, address: .lookup(
               key: .concatenation([.selector(.payload(.init(.ip, .daddr))), .selector(.payload(.init(.tcp, .dport)))]),
               map: .named("rdr_g1"))))]),
        Rule(matches: [Match(.payload(.init(.ip, .daddr)), .address(.ipv4(0xC000_0201))),
                       Match(.payload(.init(.tcp, .dport)), .integer(85))],
             statements: [.nat(NATStatement(.dnat, family: .ip, address: .lookup(
               key: .selector(.numgenIncrement(modulus: 2)),
               map: .inline([MapElement(.integer(0), .address(.ipv4(0x0A00_0005))),
                             MapElement(.integer(1), .address(.ipv4(0x0A00_0006)))])),
               port: .integer(8085)))]),
        Rule(matches: [Match(.payload(.init(.ip6, .daddr)), .address(.ipv6(0x2001_0db8_00ff_0000_0000_0000_0000_0001))),
                       Match(.payload(.init(.tcp, .dport)), .integer(80))],
             statements: [.nat(NATStatement(.dnat, family: .ip6,
                                            address: .address(.ipv6(0xfd00_0010_0000_0000_0000_0000_0000_0005)),
                                            port: .integer(8080)))]),
        Rule(matches: [Match(.payload(.init(.tcp, .dport)), .integer(80))],
             statements: [.nat(NATStatement(.redirect, port: .integer(3128)))]),
      ]),
      Chain(name: "srcnat", base: BaseChain(kind: .nat, hook: .postrouting, priority: .named(.srcnat, offset: 0)), rules: [
        Rule(statements: [.verdictMap(key: .selector(.meta(.oifname)), [VerdictMapEntry(wan, .jump("map_rwan"))])],
             counter: false),
      ]),
      Chain(name: "map_rwan", rules: [
        Rule(matches: [Match(.payload(.init(.ip, .saddr)), lan), Match(.meta(.l4proto), .set([.symbol("tcp"), .symbol("udp")]))],
             statements: [.nat(NATStatement(.masquerade, port: .integerRange(10000, 20000)))], origin: origin),
        Rule(matches: [Match(.payload(.init(.ip, .saddr)), lan), Match(.meta(.l4proto), .set([.symbol("tcp"), .symbol("udp")]))],
             statements: [.nat(NATStatement(.snat, family: .ip, address: .lookup(
               key: .selector(.payload(.init(.ip, .saddr))), map: .named("mb_1"))))]),
        Rule(matches: [Match(.payload(.init(.ip, .saddr)), .notEqual, .prefix(.ipv4(0x0A00_0000), length: 24))],
             statements: [.nat(NATStatement(.snat, family: .ip, mapsPrefix: true, address: .lookup(
               key: .selector(.payload(.init(.ip, .saddr))),
               map: .inline([MapElement(.prefix(.ipv4(0x0A00_0200), length: 24), .prefix(.ipv4(0xCB00_7100), length: 24))])))),
             ]),
        Rule(matches: [Match(.payload(.init(.ip, .saddr)), lan)],
             statements: [.nat(NATStatement(.snat, family: .ip, address: .addressRange(.ipv4(0xCB00_7101), .ipv4(0xCB00_71FE)),
                                            flags: [.persistent]))]),
      ]),
    ])
}()

@Suite struct ScriptEmitterTests {
  @Test func printsTheVerifiedLayout() {
    let script = ScriptEmitter.script(replacing: layout)
    #expect(script == """
      table inet ipnat
      delete table inet ipnat
      table inet ipnat {
      \tct helper ftp_std {
      \t\ttype "ftp" protocol tcp
      \t\tl3proto inet
      \t}
      \tct timeout age_3_udp4 {
      \t\tprotocol udp
      \t\tl3proto ip
      \t\tpolicy = { unreplied : 30, replied : 30 }
      \t}
      \tmap rdr_g1 {
      \t\ttype ipv4_addr . inet_service : ipv4_addr . inet_service
      \t\telements = { 192.0.2.1 . 80 : 10.0.0.5 . 8080,
      \t\t\t     192.0.2.1 . 81 : 10.0.0.6 . 81 }
      \t}
      \tmap mb_1 {
      \t\ttype ipv4_addr : interval ipv4_addr . inet_service
      \t\telements = { 10.0.0.0 : 203.0.113.0 . 1024-1275,
      \t\t\t     10.0.0.1 : 203.0.113.0 . 1276-1527 }
      \t}
      \tchain ct_attrs {
      \t\ttype filter hook forward priority mangle; policy accept;
      \t\toifname "rwan" ip saddr 10.0.0.0/16 tcp dport 21 counter ct helper set "ftp_std"
      \t\tiifname "rwan" meta l4proto tcp ct original ip daddr 192.0.2.1 ct original proto-dst 21 counter ct helper set "ftp_std"
      \t\toifname "rwan" ip saddr 10.0.0.0/16 meta l4proto udp counter ct timeout set "age_3_udp4"
      \t}
      \tchain mssclamp {
      \t\ttype filter hook forward priority mangle + 1; policy accept;
      \t\toifname "rwan" tcp flags & (syn | rst) == syn tcp option maxseg size > 1452 counter tcp option maxseg size set 1452
      \t}
      \tchain dstnat {
      \t\ttype nat hook prerouting priority dstnat; policy accept;
      \t\tiifname vmap { "rwan" : jump rdr_rwan }
      \t}
      \tchain rdr_rwan {
      \t\tip daddr 192.0.2.1 tcp dport 21 counter dnat ip to 10.0.0.5
      \t\tmeta l4proto tcp counter dnat ip to ip daddr . tcp dport map @rdr_g1
      \t\tip daddr 192.0.2.1 tcp dport 85 counter dnat ip to numgen inc mod 2 map { 0 : 10.0.0.5, 1 : 10.0.0.6 }:8085
      \t\tip6 daddr 2001:db8:ff::1 tcp dport 80 counter dnat ip6 to [fd00:10::5]:8080
      \t\ttcp dport 80 counter redirect to :3128
      \t}
      \tchain srcnat {
      \t\ttype nat hook postrouting priority srcnat; policy accept;
      \t\toifname vmap { "rwan" : jump map_rwan }
      \t}
      \tchain map_rwan {
      \t\tip saddr 10.0.0.0/16 meta l4proto { tcp, udp } counter masquerade to :10000-20000 comment "ipnat.conf:3: map rwan 10.0.0.0/16 -> 0/32 portmap tcp/udp 10000:20000"
      \t\tip saddr 10.0.0.0/16 meta l4proto { tcp, udp } counter snat ip to ip saddr map @mb_1
      \t\tip saddr != 10.0.0.0/24 counter snat ip prefix to ip saddr map { 10.0.2.0/24 : 203.0.113.0/24 }
      \t\tip saddr 10.0.0.0/16 counter snat ip to 203.0.113.1-203.0.113.254 persistent
      \t}
      }

      """)
  }

  @Test(.enabled(if: NFTCheck.isAvailable, "needs nft and root: runs in a throwaway network namespace"))
  func theKernelAcceptsIt() throws {
    #expect(try NFTCheck.check(ScriptEmitter.script(replacing: layout)) == nil)
  }

  /// A map of 8,192 elements or more is written half on a second thread. Its text must be
  /// what the same elements make in maps small enough for one thread, element for element.
  @Test func aLargeMapIsWrittenAsItsElementsAreInSmallMaps() throws {
    let elements = (0..<10_000).map { index in
      MapElement(.concatenation([.string("eth\(index % 3)"), .address(.ipv4(0x0A00_0000 + UInt32(index)))]),
                 .address(.ipv4(0xCB00_0000 + UInt32(index))))
    }
    func map(_ name: String, _ elements: ArraySlice<MapElement>) -> NamedMap {
      NamedMap(name: name, key: [.interfaceName, .ipv4Address], data: [.ipv4Address], elements: Array(elements))
    }
    /// Each element as written, without what separates it from the next.
    func writtenElements(_ maps: [NamedMap]) -> [Substring] {
      let script = ScriptEmitter.script(replacing: Table(family: .inet, name: "t", maps: maps))
      return script.split(separator: "\n").filter { $0.contains(" : ") && !$0.contains("type ") }.map { line in
        var element = line.drop { $0 == "\t" || $0 == " " }
        if element.hasPrefix("elements = { ") { element = element.dropFirst(13) }
        if element.hasSuffix(" }") { element = element.dropLast(2) }
        return element.hasSuffix(",") ? element.dropLast() : element
      }
    }
    let whole = writtenElements([map("whole", elements[...])])
    let inSmallMaps = writtenElements(stride(from: 0, to: elements.count, by: 1000).map { map("part\($0)", elements[$0..<$0 + 1000]) })
    try #require(whole.count == elements.count && inSmallMaps.count == elements.count)
    #expect(whole.first == "\"eth0\" . 10.0.0.0 : 203.0.0.0")
    // The first element that differs, rather than two lists of 10,000 in the failure.
    #expect(whole.indices.first { whole[$0] != inSmallMaps[$0] } == nil)
  }

  /// Map elements are written as bytes into storage of their own (`ScriptBytes`), the rest of
  /// the script as strings. Both must give the same text, for every kind of value, and for
  /// pieces longer than the room the storage keeps spare, across its chunks.
  @Test func mapElementsAreWrittenAsTheirExpressionsFormat() throws {
    let elements = (0..<3000).map { index in
      let name = index % 100 == 7 ? String(repeating: "x", count: 3000 + index) : "eth\(index % 3)"
      let key = Expression.concatenation([.string(name), .address(.ipv4(UInt32(index) &* 0x0101_0101)),
                                          .symbol(index % 2 == 0 ? "tcp" : "udp"), .integer(UInt64(index) * 21)])
      let value: Expression =
        switch index % 3 {
        case 0: .concatenation([.address(.ipv6(UInt128(index) << 64 | 1)), .integerRange(1024, UInt64(1024 + index))])
        case 1: .concatenation([.address(.ipv4(0xCB00_0000 + UInt32(index))), .integer(UInt64.max - UInt64(index))])
        default: .addressRange(.ipv4(0), .ipv4(UInt32.max - UInt32(index)))
        }
      return MapElement(key, value)
    }
    let map = NamedMap(name: "m", key: [.interfaceName, .ipv4Address, .transportProtocol, .service],
                       data: [.ipv6Address, .service], elements: elements)
    let script = ScriptEmitter.script(replacing: Table(family: .inet, name: "t", maps: [map]))
    let expected = elements.map { ScriptWriter.format($0.key) + " : " + ScriptWriter.format($0.value) }
    let start = script.firstRange(of: "elements = { ")!.upperBound
    let end = script[start...].firstRange(of: " }\n")!.lowerBound
    let written = script[start..<end].split(separator: ",\n").map { String($0.drop { $0 == "\t" || $0 == " " }) }
    try #require(written.count == expected.count)
    #expect(written.indices.first { written[$0] != expected[$0] } == nil)
    #expect(written.last == expected.last)
  }

  @Test func commentsStayWithinNftLimitsAndLoseDoubleQuotes() {
    let rule = Rule(statements: [.verdict(.accept)], counter: false,
                    origin: Origin(file: "a.conf", line: 9, text: "map \"-\" " + String(repeating: "x", count: 300)))
    let table = Table(family: .inet, name: "t", chains: [Chain(name: "c", rules: [rule])])
    let line = ScriptEmitter.script(replacing: table).split(separator: "\n").first { $0.contains("comment") }!
    let comment = line[line.firstRange(of: "comment \"")!.upperBound...].dropLast()
    #expect(comment.utf8.count <= 128)
    #expect(comment.hasPrefix("a.conf:9: map '-' xxx"))
    #expect(comment.hasSuffix("..."))
  }

  /// A rule too long for its comment is kept whole in `rule_texts`, in pieces a comment holds,
  /// and reads back whole, and the same, from the comment and the pieces.
  @Test func longRulesKeepTheirWholeTextInTheTable() throws {
    let text = "map \"é\" " + String(repeating: "é", count: 150) + " -> 0/32"
    let origins = [Origin(file: "/" + String(repeating: "d/", count: 40) + "ipnat.conf", line: 7, text: text),
                   Origin(file: "short.conf", line: 1, text: "map eth0 0/0 -> 0/32")]
    let rules = origins.map { Rule(statements: [.verdict(.accept)], counter: false, origin: $0) }
    var table = Table(family: .inet, name: "t", chains: [Chain(name: "c", rules: rules + [rules[0]])])
    RuleText.record(in: &table)
    #expect(table.ruleTexts.map(\.link) == [1])
    let comments = table.chains[0].rules.compactMap { $0.origin?.comment }
    #expect(comments[0].hasSuffix("... #1") && comments[0].hasPrefix("...") && comments[0].utf8.count <= 128)
    #expect(comments[1] == "short.conf:1: map eth0 0/0 -> 0/32")
    let pieces = table.ruleTexts[0].pieces
    #expect(pieces.count == 4 && pieces.allSatisfy { $0.comment.utf8.count <= 128 })
    #expect(pieces.map(\.key) == [256, 257, 258, 259])
    let texts = RuleText.assemble(pieces.reversed())
    for (comment, origin) in zip(comments, origins) {
      #expect(RuleIdentity(comment: comment, texts: texts) == RuleIdentity(origin))
    }
    #expect(RuleIdentity(origins[0]).text.hasPrefix("map 'é' é"))
    let script = ScriptEmitter.script(replacing: table)
    #expect(script.contains("\tset rule_texts {\n\t\ttype mark\n\t\telements = { 0x00000100 comment \""))
    if NFTCheck.isAvailable { #expect(try NFTCheck.check(script) == nil) }
  }
}
