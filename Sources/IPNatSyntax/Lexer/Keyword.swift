/// The reserved words of ipnat.conf, matched case-insensitively (IPFilter's `yywords` table).
///
/// Protocol and service names (`icmp`, `ip`, `ftp`) are deliberately not keywords: they are
/// looked up in tables, as IPFilter looks them up in `/etc/protocols` and `/etc/services`.
public enum Keyword: String, Sendable, Hashable, CaseIterable {
  case age, any, auto, bimap, config, divert, dst, dstlist, encap, frag, from, hash, icmpidmap
  case `in`, inet, inet6, mask, map, mssclamp, netmask, no, on, out, pool, port, portmap, ports
  case proto, proxy, purge, range, rewrite, rdr, sequential, src, sticky, tag, tcp, tcpudp, to, udp
  case mapBlock = "map-block"
  case roundRobin = "round-robin"
  case eq, ne, lt, gt, le, ge

  /// The keyword a bare word spells, ignoring ASCII case (as IPFilter's lexer does).
  public init?(spelling: String) {
    var spelling = spelling
    guard let keyword = spelling.withUTF8(Keyword.lookUp) else { return nil }
    self = keyword
  }

  /// The keyword UTF-8 bytes spell, ignoring ASCII case.
  init?(spelling bytes: UnsafeBufferPointer<UInt8>) {
    guard let keyword = Keyword.lookUp(bytes) else { return nil }
    self = keyword
  }

  /// Every keyword, at the slot its packed spelling hashes to or the next free one after it
  /// (linear probing, a fifth full). The lexer asks about every word: one multiplication and
  /// a probe or two cost less than comparing the word with each keyword of its length.
  private static let slots: [(spelling: UInt128, keyword: Keyword?)] = {
    var slots = [(spelling: UInt128, keyword: Keyword?)](repeating: (0, nil), count: slotCount)
    for keyword in allCases {
      let spelling = Array(keyword.rawValue.utf8).withUnsafeBufferPointer { packed($0)! }
      var index = slot(of: spelling)
      while slots[index].keyword != nil { index = (index + 1) % slotCount }
      slots[index] = (spelling, keyword)
    }
    return slots
  }()

  private static let slotCount = 256

  private static func slot(of spelling: UInt128) -> Int {
    let folded = UInt64(truncatingIfNeeded: spelling) ^ UInt64(truncatingIfNeeded: spelling >> 64)
    return Int(truncatingIfNeeded: (folded &* 0x9E37_79B9_7F4A_7C15) >> 56)
  }

  /// A word of at most 15 bytes as one integer: its length in the top byte, then its bytes with
  /// ASCII letters lowercased. nil for a longer word, which is no keyword.
  private static func packed(_ word: UnsafeBufferPointer<UInt8>) -> UInt128? {
    guard word.count < 16 else { return nil }
    var lanes: (UInt64, UInt64) = (0, 0)
    withUnsafeMutableBytes(of: &lanes) { $0.copyMemory(from: UnsafeRawBufferPointer(word)) }
    let (low, high) = (lowercased(UInt64(littleEndian: lanes.0)), lowercased(UInt64(littleEndian: lanes.1)))
    return UInt128(word.count) << 120 | UInt128(high) << 64 | UInt128(low)
  }

  /// Eight bytes with ASCII capitals lowercased, all at once; every other byte as it was.
  private static func lowercased(_ bytes: UInt64) -> UInt64 {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let low7 = bytes & (0x7F * ones)
    // Adding to the seven low bits never carries into the next byte; the high bit then tells.
    let fromA = low7 &+ (0x80 - 0x41) * ones  // high bit set where the byte is 'A' or above
    let pastZ = low7 &+ (0x80 - 0x5B) * ones  // high bit set where it is past 'Z'
    let capitals = fromA & ~pastZ & ~bytes & (0x80 * ones)  // and the byte is ASCII
    return bytes | capitals >> 2
  }

  private static func lookUp(_ word: UnsafeBufferPointer<UInt8>) -> Keyword? {
    guard let spelling = packed(word) else { return nil }
    let slots = Keyword.slots
    var index = slot(of: spelling)
    while let keyword = slots[index].keyword {
      if slots[index].spelling == spelling { return keyword }
      index = (index + 1) % slotCount
    }
    return nil
  }

  /// Keywords that begin a statement; error recovery stops in front of them.
  public var startsStatement: Bool {
    switch self {
    case .map, .bimap, .mapBlock, .rdr, .rewrite, .divert, .no, .encap, .proxy: true
    default: false
    }
  }
}
