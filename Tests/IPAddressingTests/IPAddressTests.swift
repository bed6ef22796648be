import IPAddressing
import Testing

@Suite struct IPAddressTests {
  @Test(arguments: [
    ("::", "::"), ("::1", "::1"), ("1::", "1::"), ("2001:db8::1", "2001:db8::1"),
    ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
    ("::ffff:1.2.3.4", "::ffff:1.2.3.4"), ("::2:3", "::0.2.0.3"), ("FE80::A", "fe80::a"),
    ("4::4:4:4", "4::4:4:4"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
  ])
  func ipv6RoundTrip(input: String, canonical: String) throws {
    let value = try #require(IPAddress.parseIPv6(Substring(input)))
    #expect(IPAddress.formatIPv6(value) == canonical)
  }

  @Test(arguments: ["1:2", "1:::2", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", ":1::", "g::", "1:2:3:4:5:6:7::8"])
  func invalidIPv6(_ text: String) {
    #expect(IPAddress.parseIPv6(Substring(text)) == nil)
  }

  @Test func ipv4() {
    #expect(IPAddress.parseIPv4("192.168.0.1") == 0xC0A8_0001)
    #expect(IPAddress.parseIPv4("10.1") == nil)
    #expect(IPAddress.parseIPv4("1.2.3.256") == nil)
    #expect(IPAddress.parseIPv4("1.2.3.4.") == nil)
  }

  @Test func eitherFamily() {
    #expect(IPAddress.parse("192.0.2.1") == .ipv4(0xC000_0201))
    #expect(IPAddress.parse("2001:db8::1") == .ipv6(0x2001_0db8 << 96 | 1))
    #expect(IPAddress.parse("192.0.2") == nil && IPAddress.parse("") == nil)
  }

  @Test func masks() {
    #expect(Netmask.fromLength(24, family: .inet) == 0xFFFF_FF00)
    #expect(Netmask.fromLength(0, family: .inet6) == 0)
    #expect(Netmask.fromLength(33, family: .inet) == nil)
    #expect(Netmask.prefixLength(of: 0xFFFF_FF00, family: .inet) == 24)
    #expect(Netmask.prefixLength(of: 0x0000_00FF, family: .inet) == nil)
    #expect(Netmask.prefixLength(of: UInt128.max, family: .inet6) == 128)
  }
}
