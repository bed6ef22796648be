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

  private static let bySpelling: [String: Keyword] = Dictionary(
    uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })

  /// The keyword a bare word spells, ignoring case.
  public init?(spelling: String) {
    if let exact = Keyword.bySpelling[spelling] {
      self = exact
    } else if spelling.utf8.contains(where: { (0x41...0x5a).contains($0) }),
      let folded = Keyword.bySpelling[spelling.lowercased()]
    {
      self = folded
    } else {
      return nil
    }
  }

  /// Keywords that begin a statement; error recovery stops in front of them.
  public var startsStatement: Bool {
    switch self {
    case .map, .bimap, .mapBlock, .rdr, .rewrite, .divert, .no, .encap, .proxy: true
    default: false
    }
  }
}
