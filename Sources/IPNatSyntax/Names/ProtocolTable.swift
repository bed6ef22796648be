/// Protocol names and numbers. The built-in table (Debian netbase's `/etc/protocols`) comes
/// first so that a file means the same thing on every machine; the system database is only
/// consulted for names the table lacks. Printing uses the built-in table alone.
public enum ProtocolTable {
  static let builtIn: [(name: String, number: UInt8)] = [
    ("ip", 0), ("icmp", 1), ("igmp", 2), ("ggp", 3), ("ipencap", 4), ("st", 5), ("tcp", 6), ("egp", 8),
    ("igp", 9), ("pup", 12), ("udp", 17), ("hmp", 20), ("xns-idp", 22), ("rdp", 27), ("iso-tp4", 29),
    ("dccp", 33), ("xtp", 36), ("ddp", 37), ("idpr-cmtp", 38), ("ipv6", 41), ("ipv6-route", 43),
    ("ipv6-frag", 44), ("idrp", 45), ("rsvp", 46), ("gre", 47), ("esp", 50), ("ah", 51), ("skip", 57),
    ("ipv6-icmp", 58), ("ipv6-nonxt", 59), ("ipv6-opts", 60), ("rspf", 73), ("vmtp", 81), ("eigrp", 88),
    ("ospf", 89), ("ax.25", 93), ("ipip", 94), ("etherip", 97), ("encap", 98), ("pim", 103),
    ("ipcomp", 108), ("vrrp", 112), ("l2tp", 115), ("isis", 124), ("sctp", 132), ("fc", 133),
    ("mobility-header", 135), ("udplite", 136), ("mpls-in-ip", 137), ("manet", 138), ("hip", 139),
    ("shim6", 140), ("wesp", 141), ("rohc", 142), ("ethernet", 143),
  ]

  /// Aliases that name the same protocols (the second column of `/etc/protocols`).
  static let aliases: [String: UInt8] = [
    "hopopt": 0, "ipv6-icmp": 58, "icmpv6": 58, "icmp6": 58, "ospfigp": 89, "ipv6-nonxt": 59,
  ]

  private static let numbersByName: [String: UInt8] = {
    var table = Dictionary(builtIn.map { ($0.name, $0.number) }, uniquingKeysWith: { first, _ in first })
    table.merge(aliases) { first, _ in first }
    return table
  }()

  private static let namesByNumber: [UInt8: String] = Dictionary(
    builtIn.map { ($0.number, $0.name) }, uniquingKeysWith: { first, _ in first })

  /// The number of a protocol name (case-insensitive), or `nil` if no table knows it.
  public static func number(named name: String, useSystemDatabase: Bool = true) -> UInt8? {
    let lowered = name.lowercased()
    if let number = numbersByName[lowered] { return number }
    guard useSystemDatabase else { return nil }
    return SystemDatabase.protocols[lowered]
  }

  /// The canonical name of a protocol number, as `ipnat -l` prints it, or `nil`.
  public static func name(of number: UInt8) -> String? { namesByNumber[number] }
}
