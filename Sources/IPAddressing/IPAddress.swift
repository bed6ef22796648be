/// IP addresses and masks, shared by the ipnat language side and the nftables side.

/// An address family. A rule is one or the other; IPFilter has no NAT46/64.
public enum IPFamily: String, Sendable, Hashable, CaseIterable {
  case inet
  case inet6

  /// The number of bits in an address of this family.
  public var width: Int { self == .inet ? 32 : 128 }

  /// Hashes the case: the default for a raw-valued enum hashes its name, and folding hashes an
  /// address or a prefix, family included, several times for nearly every rule.
  public func hash(into hasher: inout Hasher) { hasher.combine(self == .inet) }

  /// A mask with every bit of the family set.
  public var allOnes: UInt128 { self == .inet ? UInt128(UInt32.max) : UInt128.max }
}

/// An IPv4 or IPv6 address; IPv4 addresses live in the low 32 bits.
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var family: IPFamily
  public var bits: UInt128

  public init(family: IPFamily, bits: UInt128) {
    self.family = family
    self.bits = bits & family.allOnes
  }

  public static func ipv4(_ value: UInt32) -> IPAddress { IPAddress(family: .inet, bits: UInt128(value)) }
  public static func ipv6(_ value: UInt128) -> IPAddress { IPAddress(family: .inet6, bits: value) }

  public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
    (lhs.family == .inet ? 0 : 1, lhs.bits) < (rhs.family == .inet ? 0 : 1, rhs.bits)
  }

  /// Dotted quad for IPv4; RFC 5952 text for IPv6, except that an address whose first 96 bits
  /// are zero (or that is IPv4-mapped) keeps its embedded IPv4 form, as C libraries print it.
  public var description: String {
    family == .inet ? IPAddress.formatIPv4(UInt32(bits)) : IPAddress.formatIPv6(bits)
  }

  /// Dotted decimal, written byte by byte: compiling prints millions of these.
  public static func formatIPv4(_ value: UInt32) -> String {
    String(unsafeUninitializedCapacity: 15) { writeIPv4(value, into: $0) }
  }

  /// Writes dotted decimal (at most 15 bytes) at the start of `buffer`; returns the count.
  public static func writeIPv4(_ value: UInt32, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
    precondition(buffer.count >= 15)
    let octetTexts = IPAddress.octetTexts
    let start = UnsafeMutableRawPointer(buffer.baseAddress!)
    var count = 0
    for shift: UInt32 in [24, 16, 8] {
      // The octet's digits and a dot, four bytes stored at once (at most 12 bytes are written).
      let text = octetTexts[Int(value >> shift & 0xff)]
      let digits = Int(text >> 24)
      let withDot = text & 0x00ff_ffff | UInt32(UInt8(ascii: ".")) << UInt32(8 * digits)
      start.storeBytes(of: withDot.littleEndian, toByteOffset: count, as: UInt32.self)
      count += digits + 1
    }
    let last = octetTexts[Int(value & 0xff)]
    for index in 0..<Int(last >> 24) {
      buffer[count] = UInt8(truncatingIfNeeded: last >> UInt32(8 * index))
      count += 1
    }
    return count
  }

  /// Each octet's decimal digits as bytes, the first in the lowest byte, and their count in the
  /// top byte: written whole, not worked out digit by digit, for the millions of addresses a
  /// large compile prints.
  private static let octetTexts: [UInt32] = (0...255).map { (octet: Int) -> UInt32 in
    let digits = Array(String(octet).utf8)
    var text = UInt32(digits.count) << 24
    for (index, digit) in digits.enumerated() { text |= UInt32(digit) << UInt32(8 * index) }
    return text
  }

  public static func formatIPv6(_ value: UInt128) -> String {
    let groups = (0..<8).map { Int(truncatingIfNeeded: value >> UInt128(112 - 16 * $0)) & 0xffff }
    // The longest run of two or more zero groups is shortened to "::" (the first, on a tie).
    var best = (start: -1, length: 0)
    var index = 0
    while index < 8 {
      guard groups[index] == 0 else { index += 1; continue }
      let start = index
      while index < 8, groups[index] == 0 { index += 1 }
      if index - start > best.length { best = (start, index - start) }
    }
    if best.length < 2 { best = (-1, 0) }
    let embedsIPv4 = best.start == 0 && (best.length == 6 || (best.length == 5 && groups[5] == 0xffff))
    var text = ""
    var position = 0
    while position < 8 {
      if position == best.start {
        text += position == 0 ? "::" : ":"
        position += best.length
        continue
      }
      if embedsIPv4 && position == 6 {
        return text + formatIPv4(UInt32(truncatingIfNeeded: value))
      }
      text += String(groups[position], radix: 16)
      if position < 7 { text += ":" }
      position += 1
    }
    return text
  }

  /// Parses an address of either family: a dotted quad, or IPv6 text.
  public static func parse<Text: StringProtocol>(_ text: Text) -> IPAddress? where Text.SubSequence == Substring {
    let text = text[...]
    if let v4 = parseIPv4(text) { return .ipv4(v4) }
    return parseIPv6(text).map(IPAddress.ipv6)
  }

  /// Parses a dotted quad with exactly four decimal octets of at most 255, each of one to
  /// three digits. One pass over the bytes: the lexer calls it for every number-like word.
  public static func parseIPv4(_ text: Substring) -> UInt32? {
    // Contiguous bytes: stepping through `text.utf8` costs several times as much per byte.
    var text = text
    return text.withUTF8(parseIPv4(utf8:))
  }

  /// As ``parseIPv4(_:)``, from the text's UTF-8 bytes.
  public static func parseIPv4(utf8 bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
    var value: UInt32 = 0
    var octet: UInt32 = 0
    var digits = 0
    var dots = 0
    for byte in bytes {
      if byte == UInt8(ascii: ".") {
        guard digits > 0, dots < 3 else { return nil }
        (value, octet, digits, dots) = (value << 8 | octet, 0, 0, dots + 1)
      } else if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte), digits < 3 {
        octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
        digits += 1
        guard octet <= 255 else { return nil }
      } else {
        return nil
      }
    }
    guard dots == 3, digits > 0 else { return nil }
    return value << 8 | octet
  }

  /// Parses IPv6 text as `inet_pton(AF_INET6)` does: up to eight groups of one to four hex
  /// digits, at most one `::`, optionally ending in a dotted quad.
  public static func parseIPv6(_ text: Substring) -> UInt128? {
    guard text.utf8.contains(UInt8(ascii: ":")) else { return nil }
    guard let gap = text.firstRange(of: "::") else {
      guard let groups = parseGroups(text), groups.count == 8 else { return nil }
      return combine(groups)
    }
    let rest = text[gap.upperBound...]
    guard !rest.contains("::"), let head = parseGroups(text[..<gap.lowerBound]), let tail = parseGroups(rest),
      head.count + tail.count <= 7
    else { return nil }
    return combine(head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail)
  }

  private static func parseGroups(_ text: Substring) -> [UInt16]? {
    if text.isEmpty { return [] }
    var groups: [UInt16] = []
    let fields = text.split(separator: ":", omittingEmptySubsequences: false)
    for (index, field) in fields.enumerated() {
      if index == fields.count - 1, field.contains(".") {
        guard let v4 = parseIPv4(field) else { return nil }
        groups += [UInt16(v4 >> 16), UInt16(v4 & 0xffff)]
      } else {
        guard (1...4).contains(field.count), let group = UInt16(field, radix: 16) else { return nil }
        groups.append(group)
      }
    }
    return groups
  }

  private static func combine(_ groups: [UInt16]) -> UInt128 {
    groups.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
  }
}

/// Masks as bit patterns of a family's width.
public enum Netmask {
  /// The mask with the top `length` bits set, or `nil` if `length` is too long for the family.
  public static func fromLength(_ length: Int, family: IPFamily) -> UInt128? {
    guard length >= 0, length <= family.width else { return nil }
    if length == 0 { return 0 }
    return (UInt128.max << UInt128(family.width - length)) & family.allOnes
  }

  /// The prefix length of a contiguous mask, or `nil` for a mask such as `0.0.0.255`.
  public static func prefixLength(of mask: UInt128, family: IPFamily) -> Int? {
    let inverted = ~mask & family.allOnes
    // A contiguous mask's complement is of the form 0…01…1, so adding one gives a power of two.
    guard inverted & (inverted &+ 1) == 0 else { return nil }
    return family.width - inverted.nonzeroBitCount
  }
}
