import IPAddressing
import Testing

/// The byte writer that the canonical printer and the script use in place of `String`'s own.
@Suite struct TextWritingTests {
  /// Every power of ten, one either side of it, and the extremes: where a digit count changes.
  @Test func decimalsAreWrittenAsStringWritesThem() {
    var values: [UInt64] = [0, 1, 9, UInt64.max, UInt64.max - 1, 65_535, 4_294_967_295]
    var power: UInt64 = 10
    while true {
      values += [power - 1, power, power + 1]
      guard power <= UInt64.max / 10 else { break }
      power *= 10
    }
    for value in values {
      var bytes = UTF8Writer(capacity: 0)
      bytes.write("x")
      bytes.write(decimal: value)
      #expect(bytes.text == "x" + String(value))
    }
  }

  /// Every octet value in every position, against the octets written by `String` and joined
  /// with dots: the writer stores an octet's digits and its dot four bytes at a time.
  @Test func ipv4AddressesAreTheirOctetsInDecimal() {
    for octet in UInt32(0)...255 {
      let others = [octet, 255 - octet, (octet * 7) & 0xff, (octet + 100) & 0xff]
      for position in 0..<4 {
        var octets = others
        octets.swapAt(0, position)
        let value = octets.reduce(0) { $0 << 8 | $1 }
        let expected = octets.map { String($0) }.joined(separator: ".")
        #expect(IPAddress.formatIPv4(value) == expected)
        var bytes = UTF8Writer(capacity: 0)
        bytes.write(ipv4: value)
        #expect(bytes.text == expected)
      }
    }
  }

  @Test(arguments: [UInt32(0), 1, 0x0A00_0001, 0xC0A8_0064, 0x6464_6464, 0xFFFF_FFFF, 0x0909_0A63])
  func ipv4AddressesAreAppendedAsTheyAreFormatted(value: UInt32) {
    var bytes = UTF8Writer(capacity: 0)
    bytes.write("at ")
    bytes.write(ipv4: value)
    #expect(bytes.text == "at " + IPAddress.formatIPv4(value))
  }

  /// Pieces of every kind, past the room made at first and past where the storage grows: the
  /// text is the pieces, as `String` joins them.
  @Test func textGrowsPastItsFirstRoomWhole() {
    var bytes = UTF8Writer(capacity: 0)
    var expected = ""
    for index in 0..<2000 {
      let name = String(repeating: "é", count: index % 97)
      bytes.write(name)
      bytes.write(" . ")
      bytes.write(byte: UInt8(ascii: "#"))
      bytes.write(decimal: UInt64(index) * 977)
      bytes.write(IPAddress.ipv6(UInt128(index) << 100 | 1))
      bytes.write(IPAddress.ipv4(UInt32(index) &* 0x0102_0304))
      expected += name + " . #" + String(UInt64(index) * 977) + IPAddress.ipv6(UInt128(index) << 100 | 1).description
        + IPAddress.formatIPv4(UInt32(index) &* 0x0102_0304)
    }
    #expect(bytes.count == expected.utf8.count)
    #expect(bytes.text == expected)
    bytes.removeAll()
    bytes.write("again")
    #expect(bytes.text == "again")
  }
}
