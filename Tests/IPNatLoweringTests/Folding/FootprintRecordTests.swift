@testable import IPNatLowering
import Testing

/// The footprints a load record keeps (`FootprintRecord`) read back as folding reads them.
@Suite struct FootprintRecordTests {
  /// Rules of many kinds: the shapes that fold, and rules that stay rules (interface
  /// lists, port ranges, negations, both families, both chains).
  static let rules = FoldEntryTests.foldableShapes + """
    rdr ppp0 198.18.1.0/24 port 80 -> 10.1.1.1 port 80 tcp
    rdr eth0,eth1 198.18.2.1/32 port 1000-2000 -> 10.1.1.2 tcp
    rdr eth0 ! from 10.0.0.0/8 to 198.18.3.1/32 port = 53 -> 10.1.1.3 port 53 udp
    map eth0 from 10.2.0.0/16 to 192.0.2.0/24 -> 203.0.113.1/32
    map eth0 inet6 from any to 2001:db8::/32 port = 443 -> 2001:db8:1::2/128
    bimap eth1 10.3.0.1/32 -> 203.0.113.3/32

    """

  @Test func everyEntryReadsBackAsItsFootprint() throws {
    let entries = try FoldEntryTests.entries(Self.rules)
    let bytes = FootprintRecord.encode(entries, chain: .dstnat)
    let decoded = try #require(FootprintRecord.decode(bytes))
    #expect(decoded.map(\.footprint) == entries.map(Footprint.init))
    #expect(decoded.map(\.line) == entries.map { $0.origin?.line ?? -1 })
    #expect(decoded.allSatisfy { $0.chain == .dstnat })
    // Cut short anywhere, the bytes are refused, or read as fewer entries.
    for end in stride(from: 0, to: bytes.count, by: 7) {
      #expect((FootprintRecord.decode(Array(bytes[..<end]))?.count ?? 0) < entries.count)
    }
  }
}
