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

  /// Keywords by length: the lexer asks about every word, and comparing a word with the few
  /// keywords of its length costs less than hashing it.
  private static let byLength: [[(spelling: [UInt8], keyword: Keyword)]] = {
    var table = [[(spelling: [UInt8], keyword: Keyword)]](
      repeating: [], count: 1 + allCases.map(\.rawValue.utf8.count).max()!)
    for keyword in allCases { table[keyword.rawValue.utf8.count].append((Array(keyword.rawValue.utf8), keyword)) }
    return table
  }()

  private static func lookUp(_ word: UnsafeBufferPointer<UInt8>) -> Keyword? {
    guard word.count < byLength.count else { return nil }
    candidates: for (spelling, keyword) in byLength[word.count] {
      for (index, byte) in word.enumerated() {
        let folded = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
        if folded != spelling[index] { continue candidates }
      }
      return keyword
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
