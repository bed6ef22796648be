import IPNatDiagnostics
import IPNatSyntax
import Testing

/// Each rule family, parsed and printed in IPFilter's canonical form (`ipnat -l`).
@Suite struct CanonicalFormTests {
  @Test(arguments: [
    ("map le0 10.0.0.5/8 -> 1.2.3.4/24", "map le0 10.0.0.0/8 -> 1.2.3.0/24"),
    ("map le0 10.0.0.5/255.0.0.0 -> 1.2.3.4", "map le0 10.0.0.0/8 -> 1.2.3.4/32"),
    ("map le0 10.0.0.5 mask 0xffff0000 -> 0/32", "map le0 10.0.0.0/16 -> 0/32"),
    ("map le0 10.0.0.5 netmask 255.255.255.0 -> 0/32", "map le0 10.0.0.0/24 -> 0/32"),
    ("map le0 10.0.0.5/0xff -> 0/32", "map le0 0.0.0.5/0.0.0.255 -> 0/32"),
    ("map le0 any -> 1", "map le0 0/0 -> 0.0.0.1/32"),
    ("map le0 10.0.0.0/8 -> 1.2.3.4-1.2.3.9", "map le0 10.0.0.0/8 -> range 1.2.3.4-1.2.3.9"),
    ("map le0,le0 0/0 -> 0/32", "map le0 0/0 -> 0/32"),
    ("map \"-\" 0/0 -> 0/32", "map \"-\" 0/0 -> 0/32"),
    ("map * 0/0 -> 0/32", "map * 0/0 -> 0/32"),
    ("map \"map\" 0/0 -> 0/32", "map \"map\" 0/0 -> 0/32"),
    ("MAP Le0 0/0 -> 0/32 PORTMAP TCP 1:2", "map Le0 0/0 -> 0/32 portmap tcp 1:2"),
    ("map le0 0/0 -> 0/32 portmap 10000:20000 tcp", "map le0 0/0 -> 0/32 portmap tcp 10000:20000"),
    ("map le0 0/0 -> 0/32 portmap tcp/udp 1000-2000 sequential",
     "map le0 0/0 -> 0/32 portmap tcp/udp 1000:2000 sequential"),
    ("map le0 0/0 -> 0/32 icmpidmap icmp 1:9 sequential", "map le0 0/0 -> 0/32 icmpidmap icmp 1:9 sequential"),
    ("map le0 0/0 -> 0/32 proxy port ftp ftp/6", "map le0 0/0 -> 0/32 proxy port 21 ftp/tcp"),
    ("map le0 0/0 -> 0/32 round-robin frag age 5 mssclamp 1400 tag lan icmp purge",
     "map le0 0/0 -> 0/32 frag age 5/5 mssclamp 1400 tag lan icmp purge"),
    ("map le0 from 10.0.0.0/8 port > 1024 to ! 192.168.0.0/16 -> 0/32",
     "map le0 from 10.0.0.0/8 port > 1024 ! to 192.168.0.0/16 -> 0/32 tcp/udp"),
    ("map le0 from any port = 53 to any -> 0/32 icmp", "map le0 from 0/0 to 0/0 -> 0/32 icmp"),
    ("map le0 from pool/1 to hash/web -> 0/32", "map le0 from pool/1 to hash/web -> 0/32"),
    ("map le0 gateway.example -> 0/32", "map le0 198.51.100.1/32 -> 0/32"),
  ])
  func map(input: String, canonical: String) {
    #expect(printed(input) == canonical)
  }

  @Test(arguments: [
    ("bimap le0 10.0.5.6/24 -> 1.2.3.4/24", "bimap le0 10.0.5.0/24 -> 1.2.3.0/24"),
    ("map-block le0 10.0.0.0/16 -> 203.0.113.0/24", "map-block le0 10.0.0.0/16 -> 203.0.113.0/24 ports 0"),
    ("map-block le0 10.0.0.0/16 -> 203.0.113.0/24 ports auto tcp",
     "map-block le0 10.0.0.0/16 -> 203.0.113.0/24 ports auto tcp"),
    ("map-block le0 10.0.0.0/16 -> 203.0.113.0/24 ports 252 icmp",
     "map-block le0 10.0.0.0/16 -> 203.0.113.0/24 ports 0 icmp"),
  ])
  func bimapAndMapBlock(input: String, canonical: String) {
    #expect(printed(input) == canonical)
  }

  @Test(arguments: [
    ("rdr le0 1.2.3.4 port 80 -> 10.0.0.1 port 8080 tcp", "rdr le0 1.2.3.4/32 port 80 -> 10.0.0.1/32 port 8080 tcp"),
    // A new port with no matched port shifts by it: IPFilter stores (and prints) port 0-P.
    ("rdr le0 1.2.3.4 -> 10.0.0.1 port 8080 tcp", "rdr le0 1.2.3.4/32 port 0-8080 -> 10.0.0.1/32 port 8080 tcp"),
    ("rdr le0 1.2.3.4 -> 10.0.0.1 port = 8080 tcp", "rdr le0 1.2.3.4/32 port 0 -> 10.0.0.1/32 port = 8080 tcp"),
    ("rdr le0 1.2.3.4 port 80 -> 10.0.0.1 port 80", "rdr le0 1.2.3.4/32 port 80 -> 10.0.0.1/32 port 80 tcp/udp"),
    ("rdr le0 1.2.3.4 port 80 -> 10.0.0.1", "rdr le0 1.2.3.4/32 port 80 -> 10.0.0.1/32 port 0 tcp/udp"),
    ("rdr le0 1.2.3.4 -> 10.0.0.1", "rdr le0 1.2.3.4/32 -> 10.0.0.1/32 ip"),
    ("rdr le0 1.2.3.4 port 80 -> 10.0.0.1 port 80 gre", "rdr le0 1.2.3.4/32 -> 10.0.0.1/32 gre"),
    ("rdr le0 1.2.3.4 port http -> 10.0.0.1 port www tcp", "rdr le0 1.2.3.4/32 port 80 -> 10.0.0.1/32 port 80 tcp"),
    ("rdr le0 1.2.3.4 port 80 -> 10.0.0.1 port 80 tcp sticky", "rdr le0 1.2.3.4/32 port 80 -> 10.0.0.1/32 port 80 tcp"),
    ("rdr le0 1.2.3.4 port 80 -> 10.0.0.1,10.0.0.2 port 80 tcp sticky",
     "rdr le0 1.2.3.4/32 port 80 -> 10.0.0.1,10.0.0.2 port 80 tcp sticky"),
    ("rdr le0 1.2.3.4 port 80 -> range 10.0.0.1-10.0.0.5 port 80 tcp",
     "rdr le0 1.2.3.4/32 port 80 -> 10.0.0.1-10.0.0.5 port 80 tcp"),
    ("rdr le0 1.2.3.4 -> 10.0.0.1 proxy port ftp ftp/tcp",
     "rdr le0 1.2.3.4/32 port 21 -> 10.0.0.1/32 port 21 tcp proxy ftp"),
    ("rdr le0 1.2.3.4 port 21 -> 10.0.0.1 port 2121 tcp proxy ftp",
     "rdr le0 1.2.3.4/32 port 2121 -> 10.0.0.1/32 port 2121 tcp proxy ftp"),
    ("rdr le0 ! from 10.0.0.0/8 to 1.2.3.4 port = 25 -> 10.0.0.25 port 25 tcp",
     "rdr le0 ! from 10.0.0.0/8 to 1.2.3.4/32 port = 25 -> 10.0.0.25/32 port 25 tcp"),
    ("rdr le0 from any to any port 1000 >< 2000 -> 10.0.0.1 port 80 tcp age 1/2 tag web purge",
     "rdr le0 from 0/0 to 0/0 port 1000 >< 2000 -> 10.0.0.1/32 port 80 tcp age 1/2 tag web purge"),
    ("rdr le0,le1 1.2.3.4 port 1000-2000 -> 10.0.0.1 port 5555-7777 udp round-robin frag mssclamp 1000",
     "rdr le0,le1 1.2.3.4/32 port 1000-2000 -> 10.0.0.1/32 port 5555-7777 udp round-robin frag mssclamp 1000"),
  ])
  func rdr(input: String, canonical: String) {
    #expect(printed(input) == canonical)
  }

  @Test(arguments: [
    ("map le0 inet6 0/0 -> 0/128", "map le0 inet6 any -> ::/128"),
    ("map le0 inet6 0/32 -> 2001:db8::1", "map le0 inet6 ::/32 -> 2001:db8::1/128"),
    ("map le0 inet6 10::5/16 -> 1:2:3::4/96", "map le0 inet6 10::/16 -> 1:2:3::/96"),
    ("rdr le0 2001:db8::1 port 80 -> fd00::80 port 8080 tcp",
     "rdr le0 inet6 2001:db8::1/128 port 80 -> fd00::80/128 port 8080 tcp"),
    ("map le0 inet6 v6.example -> ::/128", "map le0 inet6 2001:db8::1/128 -> ::/128"),
    ("map le0 inet6 from any to any -> ::1 icmpidmap ipv6-icmp 1:2",
     "map le0 inet6 any -> ::1/128 icmpidmap icmp 1:2"),
    // A prefix longer than 32 makes the rule IPv6 when no address decides, on either side.
    ("map le0 0/64 -> 0/0", "map le0 inet6 ::/64 -> any"),
    ("map le0 0/0 -> 0/96", "map le0 inet6 any -> ::/96"),
  ])
  func ipv6(input: String, canonical: String) {
    #expect(printed(input) == canonical)
  }

  @Test(arguments: [
    ("rewrite in on le0 from 0/0 to 10.0.0.0/16 -> src 0/0 dst 192.168.0.1;",
     "rewrite in on le0 from 0/0 to 10.0.0.0/16 -> src 0/0 dst 192.168.0.1/32;"),
    ("rewrite out on le0 proto tcp from any to any -> src 3.3.3.0/24,1000:2000 dst 4.4.0.0/16 port = 3128 purge;",
     "rewrite out on le0 proto tcp from 0/0 to 0/0 -> src 3.3.3.0/24,1000-2000 dst 4.4.0.0/16,port = 3128 purge;"),
    ("rewrite in on le0 from any to any -> src 0/0 dst dstlist/servers;",
     "rewrite in on le0 from 0/0 to 0/0 -> src 0/0 dst dstlist/servers;"),
    ("divert in on le0 from any to 1.1.1.1 -> src 2.2.2.2,1 dst 3.3.3.3,2 udp;",
     "divert in on le0 proto tcp from 0/0 to 1.1.1.1/32 -> src 2.2.2.2/32,1 dst 3.3.3.3/32,2 udp;"),
    ("divert out on le0 proto udp from any to any -> src 2.2.2.2,1 dst 3.3.3.3,2 udp;",
     "divert out on le0 proto udp from 0/0 to 0/0 -> src 2.2.2.2/32,1 dst 3.3.3.3/32,2 udp;"),
    ("no map le0 10.0.0.0/24;", "no map le0 10.0.0.0/24 ip;"),
    ("no rdr le0 10.0.0.1 port 80 tcp;", "no rdr le0 10.0.0.1/32 port 80 tcp;"),
    ("no map-block le0 10.0.0.0/24 udp;", "no map-block le0 10.0.0.0/24 udp;"),
    ("no bimap le0 from 10.0.0.0/8 to any;", "no bimap le0 from 10.0.0.0/8 to 0/0 ip;"),
  ])
  func rewriteDivertAndNo(input: String, canonical: String) {
    #expect(printed(input) == canonical)
  }

  @Test func rulesAcrossLinesSeveralPerLineAndOptionalSemicolons() {
    let text = """
      map le0 10.0.0.0/8
          -> 0/32 portmap tcp auto; map le0 10.0.0.0/8 -> 0/32
      rdr le0 1.2.3.4 port 80 -> 10.0.0.1 port 80 tcp rdr le0 1.2.3.5 port 80 -> 10.0.0.2 port 80 tcp
      """
    #expect(printed(text) == """
      map le0 10.0.0.0/8 -> 0/32 portmap tcp auto
      map le0 10.0.0.0/8 -> 0/32
      rdr le0 1.2.3.4/32 port 80 -> 10.0.0.1/32 port 80 tcp
      rdr le0 1.2.3.5/32 port 80 -> 10.0.0.2/32 port 80 tcp
      """)
  }

  @Test func dnsProxyConfigurationParsesAndPrintsNoRule() {
    let result = parse("""
      map le0 0/0 -> 0/32
      proxy dns/udp config blocked { block .ads.example; allow www.example; deny *.tracker; };
      """)
    #expect(result.diagnostics.isEmpty)
    guard case .dnsProxy(let config) = result.config.statements.last else {
      Issue.record("expected a DNS proxy configuration")
      return
    }
    #expect(config.name.value == "blocked")
    #expect(config.entries.map(\.name) == [".ads.example", "www.example", "*.tracker"])
    #expect(config.entries.map(\.action) == [.block, .allow, .block])
    #expect(CanonicalPrinter.print(result.config) == "map le0 0/0 -> 0/32\n")
  }

  @Test func numberInAnInet6RuleIsReadAsIPv6WithAWarning() {
    // IPFilter prints `any` here (a bare number is IPv4, /128 an invalid IPv4 length);
    // ipnat reads ::1 and says so.
    #expect(printed("map le0 inet6 1/128 -> 1/128") == "map le0 inet6 ::1/128 -> ::1/128")
    #expect(diagnosticIDs("map le0 inet6 1/128 -> ::", severity: .warning) == ["parse.number-in-inet6"])
  }
}
