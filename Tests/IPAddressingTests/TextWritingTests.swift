import IPAddressing
import Testing

/// The byte writers that the canonical printer and the script use in place of `String`'s own.
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
      var bytes: [UInt8] = Array("x".utf8)
      DecimalText.append(value, to: &bytes)
      #expect(String(decoding: bytes, as: UTF8.self) == "x" + String(value))
      let written = [UInt8](unsafeUninitializedCapacity: DecimalText.maximumDigits) { buffer, count in
        count = DecimalText.write(value, into: buffer.baseAddress!)
      }
      #expect(String(decoding: written, as: UTF8.self) == String(value))
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
        var bytes: [UInt8] = []
        IPAddress.appendIPv4(value, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
      }
    }
  }

  @Test(arguments: [UInt32(0), 1, 0x0A00_0001, 0xC0A8_0064, 0x6464_6464, 0xFFFF_FFFF, 0x0909_0A63])
  func ipv4AddressesAreAppendedAsTheyAreFormatted(value: UInt32) {
    var bytes: [UInt8] = Array("at ".utf8)
    IPAddress.appendIPv4(value, to: &bytes)
    #expect(String(decoding: bytes, as: UTF8.self) == "at " + IPAddress.formatIPv4(value))
  }
}
