import IPNatKit
import TestSupport
import Testing

/// Folding must not change which rule translates which packet: the same traffic through the
/// same rules, folded into maps and one rule per line, must be translated identically, and as
/// IPFilter would. The rules set traps for a careless fold: a forward shadowed by a port
/// range, a 1:1 map that may not move ahead of a `from … to …` rule or of a portmap of the
/// same host, and a group of one shape interrupted by another.
@Suite(.serialized, .enabled(if: Lab.isAvailable, "needs root, iproute2, nft and python3"))
struct FoldingPacketTests {
  static let rules = """
    rdr rwan 192.0.2.1/32 port 7001 -> 10.0.0.5 port 8001 udp
    rdr rwan 192.0.2.1/32 port 7002 -> 10.0.0.6 port 8002 udp
    rdr rwan 192.0.2.1/32 port 7100-7110 -> 10.0.0.5 port 8100 udp
    rdr rwan 192.0.2.1/32 port 7105 -> 10.0.0.6 port 8002 udp
    rdr rwan 192.0.2.1/32 port 7003 -> 10.0.0.6 port 8003 udp
    rdr rwan 192.0.2.1/32 port 7004 -> 10.0.0.5 port 8004 tcp/udp
    map rwan 10.0.0.2/32 -> 203.0.113.2/32
    map rwan from 10.0.0.3/32 to 192.0.2.2/32 -> 203.0.113.30/32
    map rwan 10.0.0.5/32 -> 203.0.113.5/32 portmap udp 20000:20099
    map rwan 10.0.0.6/32 -> 203.0.113.6/32 portmap udp 30000:30099
    map rwan 10.0.0.5/32 -> 203.0.113.55/32
    map rwan 10.0.0.3/32 -> 203.0.113.3/32
    map rwan 10.0.0.6/32 -> 203.0.113.66/32

    """

  /// How the far side saw each probe: the inside server's address and port for inbound
  /// forwards; the translated source for outbound traffic, with portmap ports as a range.
  static let expected = [
    "udp 7001 -> 10.0.0.5:8001", "udp 7002 -> 10.0.0.6:8002", "udp 7105 -> 10.0.0.5:8105",
    "udp 7003 -> 10.0.0.6:8003", "udp 7004 -> 10.0.0.5:8004", "tcp 7004 -> 10.0.0.5:8004",
    "udp from 10.0.0.2 = 203.0.113.2", "udp from 10.0.0.3 = 203.0.113.30", "tcp from 10.0.0.3 = 203.0.113.30",
    "udp from 10.0.0.5 = 203.0.113.5:200xx", "tcp from 10.0.0.5 = 203.0.113.55",
    "udp from 10.0.0.6 = 203.0.113.6:300xx", "tcp from 10.0.0.6 = 203.0.113.66",
  ]

  @Test(arguments: [2, nil] as [Int?])
  func foldedAndUnfoldedTranslateAlike(foldThreshold: Int?) throws {
    try withLab { lab in
      var options = LoweringOptions()
      options.foldThreshold = foldThreshold
      let script = try lab.load(Self.rules, lowering: options)
      #expect(script.contains("map @fold_") == (foldThreshold != nil))
      try lab.start(lab.inside, ["serve", "10.0.0.5:8001", "10.0.0.6:8002", "10.0.0.5:8105", "10.0.0.6:8003", "10.0.0.5:8004"])
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000"])
      #expect(try Self.observe(lab) == Self.expected)
    }
  }

  static func observe(_ lab: Lab) throws -> [String] {
    var seen: [String] = []
    for (kind, port) in [("udp", 7001), ("udp", 7002), ("udp", 7105), ("udp", 7003), ("udp", 7004), ("tcp", 7004)] {
      let answers = try lab.probe(lab.outside, [kind, "192.0.2.1", String(port)]).compactMap(Answer.init)
      seen.append("\(kind) \(port) -> " + answers.map { "\($0.localAddress):\($0.localPort)" }.joined(separator: ","))
    }
    for (kind, source) in [("udp", "10.0.0.2"), ("udp", "10.0.0.3"), ("tcp", "10.0.0.3"), ("udp", "10.0.0.5"),
                           ("tcp", "10.0.0.5"), ("udp", "10.0.0.6"), ("tcp", "10.0.0.6")] {
      let answers = try lab.probe(lab.inside, [kind, "192.0.2.2", "7000", "--bind", source]).compactMap(Answer.init)
      seen.append("\(kind) from \(source) = " + answers.map(Self.translatedSource).joined(separator: ","))
    }
    return seen
  }

  /// `203.0.113.5:200xx` for a port from a portmap range, the address alone otherwise.
  static func translatedSource(_ answer: Answer) -> String {
    switch answer.peerPort {
    case 20000...20099: "\(answer.peerAddress):200xx"
    case 30000...30099: "\(answer.peerAddress):300xx"
    default: answer.peerAddress
    }
  }
}
