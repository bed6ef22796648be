import IPNatDiagnostics
import IPNatKit
import Testing

/// IPFilter's per-rule address counters, as compiled: a rewrite's new network hands out its hosts
/// in turn from network + 1 (IPFilter's tests n100 and n101: 6.6.0.1, 6.6.0.2, …), and a pool
/// with a port range moves to its next host after as many sessions as the range has ports (n2,
/// n5), up to networks whose counter map would hold more than 65,536 addresses.
@Suite struct AddressCounterTests {
  func compiled(_ rule: String) throws -> String {
    try #require(IPNat.compile(SourceFile(name: "t.conf", text: rule + "\n")).output)
  }

  @Test func aRewritesNetworkOfThousandsOfHostsIsCounted() throws {
    let script = try compiled("rewrite out on eth0 from 0/0 to 2.2.0.0/16 -> src 4.4.4.4/32 dst 6.6.0.0/16;")
    #expect(script.contains("dnat ip to numgen inc mod 65534 map { 0 : 6.6.0.1, 1 : 6.6.0.2, 2 : 6.6.0.3,"))
    #expect(script.contains("65533 : 6.6.255.254 }"))
  }

  @Test func largerNetworksAreTheKernelsChoice() throws {
    let rewrite = try compiled("rewrite out on eth0 from 0/0 to 2.2.0.0/16 -> src 4.4.4.4/32 dst 6.0.0.0/8;")
    #expect(rewrite.contains("dnat ip to 6.0.0.1-6.255.255.254"))
    let pool = try compiled("map eth0 10.0.0.0/8 -> 100.64.0.0/10 portmap tcp/udp 1024:65535")
    #expect(pool.contains("snat ip to 100.64.0.1-100.127.255.254:1024-65535 random"))
  }

  @Test func aPoolsAddressServesAsManySessionsAsItHasPorts() throws {
    let script = try compiled("map eth0 10.0.0.0/16 -> 203.0.113.0/24 portmap tcp/udp 10000:19999")
    #expect(script.contains("snat ip to numgen inc mod 2540000 map { 0-9999 : 203.0.113.1, 10000-19999 : 203.0.113.2,"))
    #expect(script.contains("2530000-2539999 : 203.0.113.254 }:10000-19999 random"))
  }
}
