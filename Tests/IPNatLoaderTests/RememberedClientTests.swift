import IPNatLoader
import IPNatNetlink
import NFTKernel
import Testing

/// `ipnat list` and `ipnat -l` show the clients sticky targets remember, as IPFilter's `-l`
/// shows its hostmap: read from the dynamic sets' elements as the kernel dumps them.
struct RememberedClientTests {
  static let farm = """
    rdr eth0 203.0.113.5/32 port 80 -> 10.0.0.5,10.0.0.6 port 80 tcp round-robin sticky
    rdr eth0 203.0.113.5/32 port 80 -> 10.0.0.7 port 80 tcp round-robin sticky
    rdr eth0 2001:db8::5/128 -> 2001:db8:1::5 round-robin sticky
    rdr eth0 2001:db8::5/128 -> 2001:db8:1::6 round-robin

    """

  /// A key as the kernel holds it: each field in 4-byte registers, a port padded.
  static func key(_ fields: [[UInt8]]) -> [UInt8] {
    fields.flatMap { $0.count == 2 ? $0 + [0, 0] : $0 }
  }

  @Test func eachRememberedClientNamesItsServerAndRule() throws {
    let table = try LoaderBehaviourTests.compile(Self.farm, name: "farm.conf")
    let sets = table.sets.filter { $0.flags.contains(.dynamic) }.map(\.name)
    #expect(sets == ["rr_1_0_clients", "rr_1_1_clients", "rr_1_2_clients", "rr_3_0_clients"])
    let remembered = [
      KernelRuleset.RememberedClients(set: "rr_1_1_clients", elements: [
        .init(key: Self.key([[198, 51, 100, 7], [203, 0, 113, 5], [0, 80]]), expiration: 3_541_250)
      ]),
      KernelRuleset.RememberedClients(set: "rr_1_2_clients", elements: []),
      KernelRuleset.RememberedClients(set: "rr_3_0_clients", elements: [
        .init(key: Self.key([[0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [9],
                             [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [5]]), expiration: 12_000)
      ]),
    ]
    let listing = Listing(rules: MemoryTransport().expectedRules(of: table), remembered: remembered)
    let text = listing.render(counters: true)
    let section = text.split(separator: "\n", omittingEmptySubsequences: false).drop { !$0.hasPrefix("clients sticky") }
    #expect(Array(section) == [
      "clients sticky targets remember (IPFilter's hostmap):",
      "CLIENT        DESTINATION          SERVER         FOR     RULE",
      "198.51.100.7  203.0.113.5 port 80  10.0.0.6       3541 s  "
        + "rdr eth0 203.0.113.5/32 port 80 -> 10.0.0.5,10.0.0.6 port 80 tcp round-robin sticky  # farm.conf:1",
      "2001:db8::9   2001:db8::5          2001:db8:1::5  12 s    "
        + "rdr eth0 inet6 2001:db8::5/128 -> 2001:db8:1::5/128 ip round-robin sticky  # farm.conf:3",
      "",
    ])
    // The rules alone, for scripts, leave the section out.
    #expect(!listing.render(counters: false).contains("hostmap"))
  }

  /// A range target sends every client to its first address, so that is the server listed.
  @Test func aRangeTargetsServerIsItsFirstAddress() throws {
    let table = try LoaderBehaviourTests.compile("""
      rdr eth0 203.0.113.5/32 port 80 -> range 10.0.0.8-10.0.0.9 port 80 tcp round-robin sticky
      rdr eth0 203.0.113.5/32 port 80 -> 10.0.0.7 port 80 tcp round-robin sticky

      """, name: "range.conf")
    let remembered = [KernelRuleset.RememberedClients(set: "rr_1_0_clients", elements: [
      .init(key: Self.key([[198, 51, 100, 7], [203, 0, 113, 5], [0, 80]]), expiration: 60_000)
    ])]
    let text = Listing(rules: MemoryTransport().expectedRules(of: table), remembered: remembered).render(counters: true)
    let row = try #require(text.split(separator: "\n").first { $0.hasPrefix("198.51.100.7") })
    #expect(row.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).first == "10.0.0.8", "\(row)")
  }

  @Test func aTableWithoutStickyTargetsListsNoSection() throws {
    let table = try LoaderBehaviourTests.compile("map eth0 10.0.0.0/8 -> 0/32\n")
    let text = Listing(rules: MemoryTransport().expectedRules(of: table)).render(counters: true)
    #expect(!text.contains("hostmap"))
  }
}
