import IPNatDiagnostics
import IPNatSemantics
import IPNatSyntax
import Testing

struct SemanticsTests {
  static func rules(_ text: String) throws -> [Rule] {
    let result = Parser.parse(SourceFile(name: "t.conf", text: text))
    #expect(!result.diagnostics.hasErrors, "\(result.diagnostics)")
    return result.config.rules
  }

  /// Partners are found by meaning, not spelling: a mask written as a length or a dotted
  /// quad, a port by name or number. Another port or protocol is another group.
  @Test func roundRobinPartnersShareTheirLeftHandSide() throws {
    let groups = RuleGroup.partition(try Self.rules("""
      rdr le0 203.0.113.1/32 port 80 -> 10.0.0.1 port 80 tcp round-robin
      map le0 10.0.0.0/8 -> 0/32
      rdr le0 203.0.113.1/255.255.255.255 port www -> 10.0.0.2 port 80 tcp round-robin
      rdr le0 203.0.113.1/32 port 81 -> 10.0.0.3 port 80 tcp round-robin
      rdr le0 203.0.113.1/32 port 80 -> 10.0.0.4 port 80 udp round-robin
      rdr le0 203.0.113.1/32 port 80 -> 10.0.0.5 port 80 tcp
      """))
    let shapes = groups.map { group -> [Int] in
      switch group {
      case .single(_, let ordinal): [ordinal]
      case .roundRobin(let members): members.map(\.ordinal)
      }
    }
    #expect(shapes == [[1, 3], [2], [4], [5], [6]])
  }

  @Test func searchRankTriesLongerPrefixesFirstThenFileOrder() {
    let ranks = [SearchRank(prefixLength: 24, ordinal: 3), SearchRank(prefixLength: 32, ordinal: 5),
                 SearchRank(prefixLength: 24, ordinal: 1), SearchRank(prefixLength: 0, ordinal: 0)]
    #expect(ranks.sorted() == [SearchRank(prefixLength: 32, ordinal: 5), SearchRank(prefixLength: 24, ordinal: 1),
                               SearchRank(prefixLength: 24, ordinal: 3), SearchRank(prefixLength: 0, ordinal: 0)])
  }

  /// IPFilter's numbers for a /24 behind a /30: A = 255 / 4 + 1 = 64 hosts per address, and
  /// 64512 / 64 = 1008 ports each; with `ports 256`, 64512 / 256 = 252 hosts per address.
  @Test func portBlocksFollowIPFiltersArithmetic() throws {
    let layouts = try Self.rules("""
      map-block le0 10.0.0.0/24 -> 192.0.2.0/30 ports auto
      map-block le0 10.0.0.0/24 -> 192.0.2.0/30 ports 256
      map-block le0 10.0.0.0/24 -> 192.0.2.0/24
      """).map { rule -> PortBlockLayout? in
      guard case .mapBlock(let block) = rule else { return nil }
      return block.portBlockLayout
    }
    #expect(layouts[0].map { [$0.addressesPerIP, $0.portsPerAddress, $0.externalAddressesNeeded, $0.externalAddresses] }
      == [64, 1008, 4, 4])
    #expect(layouts[1].map { [$0.addressesPerIP, $0.portsPerAddress, $0.externalAddressesNeeded] } == [252, 256, 2])
    #expect(layouts[2] == nil)  // equal prefix lengths: IPFilter gives each host no ports
  }
}
