import IPNatDiagnostics
import IPNatKit
import Testing

/// map-block's blocks against IPFilter's own test n3 (`ip_nat.c: ipf_nat_newmap`, `lib/nat_setgroupmap.c`) and the
/// Solaris manual's "252 ports" example.
@Suite struct PortBlockTests {
  /// The map element of one internal host, as compiled: `10.1.1.1 : 192.168.1.1 . 1276-1527`.
  func element(for host: String, in rule: String) throws -> String? {
    let outcome = IPNat.compile(SourceFile(name: "t.conf", text: rule + "\n"))
    let script = try #require(outcome.output)
    for line in script.split(separator: "\n") {
      let element = line.drop { $0 == "\t" || $0 == " " }.replacing("elements = { ", with: "")
      if element.hasPrefix(host + " : ") { return String(element.prefix { $0 != "," && $0 != "}" }) }
    }
    return nil
  }

  @Test func ipfilterTestN3() throws {
    let rule = "map-block zx0 10.1.0.0/16 -> 192.168.1.0/24 ports 252"
    // 10.1.1.1:5000 -> 192.168.1.1:1488, which lies in 1276-1527.
    #expect(try element(for: "10.1.1.1", in: rule)?.hasPrefix("10.1.1.1 : 192.168.1.1 . 1276-1527") == true)
    // 10.1.0.0:32768 -> 192.168.1.0:1032.
    #expect(try element(for: "10.1.0.0", in: rule)?.hasPrefix("10.1.0.0 : 192.168.1.0 . 1024-1275") == true)
    // 10.1.255.255:65535 -> 192.168.1.255:65299.
    #expect(try element(for: "10.1.255.255", in: rule)?.hasPrefix("10.1.255.255 : 192.168.1.255 . 65284-65535") == true)
  }

  @Test func solarisAutoGivesEachHost252Ports() throws {
    let rule = "map-block ppp0 172.192.0.0/16 -> 209.1.2.0/24 ports auto"
    #expect(try element(for: "172.192.0.1", in: rule)?.hasPrefix("172.192.0.1 : 209.1.2.0 . 1276-1527") == true)
    #expect(try element(for: "172.192.1.0", in: rule)?.hasPrefix("172.192.1.0 : 209.1.2.1 . 1024-1275") == true)
  }

  @Test func oneExternalAddressWrapsToOneHostPerAddress() throws {
    // /16 -> /32: A wraps to 1 in IPFilter's 16-bit field, so every host gets 1024-65535.
    let rule = "map-block eth0 10.9.0.0/16 -> 203.0.113.7/32 ports auto"
    #expect(try element(for: "10.9.3.4", in: rule)?.hasPrefix("10.9.3.4 : 203.0.113.7 . 1024-65535") == true)
  }
}
