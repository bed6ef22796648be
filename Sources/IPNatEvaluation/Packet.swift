import IPAddressing

/// A packet as `ipnat test` reads it, in ipftest's notation: the first packet of a connection,
/// as it arrives on an interface (`in`) or as it would leave by one (`out`), before any
/// translation; the evaluator follows it across the router.
public struct Packet: Sendable, Equatable {
  public enum Direction: String, Sendable {
    case incoming = "in", outgoing = "out"
  }

  public var direction: Direction
  public var interface: String
  /// The IP protocol number: 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, or any other.
  public var protocolNumber: UInt8
  public var source: Endpoint
  public var destination: Endpoint
  /// ICMP's type, for an ICMP packet.
  public var icmpType: UInt8?

  public var family: IPFamily { source.address.family }
  public var hasPorts: Bool { protocolNumber == 6 || protocolNumber == 17 }
  /// False for an ICMP or ICMPv6 message that is not a request: Linux translates it only as
  /// part of the connection it quotes or answers, and alone no NAT rule sees it.
  public var beginsConnection: Bool {
    guard protocolNumber == 1 || protocolNumber == 58, let icmpType else { return true }
    return ICMPTypes.beginsConnection(icmpType, protocol: protocolNumber)
  }

  public init(direction: Direction, interface: String, protocolNumber: UInt8, source: Endpoint, destination: Endpoint,
              icmpType: UInt8? = nil) {
    self.direction = direction
    self.interface = interface
    self.protocolNumber = protocolNumber
    self.source = source
    self.destination = destination
    self.icmpType = icmpType
  }

  /// `in on ppp0 tcp 198.51.100.7,40000 203.0.113.5,443`
  public var description: String {
    var words = [direction.rawValue, "on", interface, Self.protocolName(protocolNumber), source.description,
                 destination.description]
    if let icmpType { words.append(ICMPTypes.name(icmpType, protocol: protocolNumber)) }
    return words.joined(separator: " ")
  }

  /// The protocol's name as the packet lines take it (the first in alphabetical order where
  /// there are two: `icmpv6`, not `ipv6-icmp`), or its number.
  static func protocolName(_ number: UInt8) -> String {
    Symbols.protocols.filter { $0.value == UInt64(number) }.map(\.key).min() ?? String(number)
  }
}

/// An address and, for TCP and UDP, a port.
public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
  public var address: IPAddress
  public var port: UInt16?

  public init(_ address: IPAddress, port: UInt16? = nil) {
    self.address = address
    self.port = port
  }

  /// `198.51.100.7,40000`, as ipftest writes it.
  public var description: String { port.map { "\(address),\($0)" } ?? "\(address)" }
}

/// ICMP and ICMPv6 types by the names nft uses (and ipftest's `echo`), and which of them
/// begin a connection.
enum ICMPTypes {
  static let icmp: [(String, UInt8)] = [
    ("echo-reply", 0), ("destination-unreachable", 3), ("source-quench", 4), ("redirect", 5), ("echo-request", 8),
    ("echo", 8), ("router-advertisement", 9), ("router-solicitation", 10), ("time-exceeded", 11),
    ("parameter-problem", 12), ("timestamp-request", 13), ("timestamp-reply", 14), ("info-request", 15),
    ("info-reply", 16), ("address-mask-request", 17), ("address-mask-reply", 18),
  ]
  static let icmpv6: [(String, UInt8)] = [
    ("destination-unreachable", 1), ("packet-too-big", 2), ("time-exceeded", 3), ("parameter-problem", 4),
    ("echo-request", 128), ("echo", 128), ("echo-reply", 129), ("nd-router-solicit", 133), ("nd-router-advert", 134),
    ("nd-neighbor-solicit", 135), ("nd-neighbor-advert", 136), ("nd-redirect", 137),
  ]

  /// The names of `protocolNumber`'s types: 58 is ICMPv6, anything else ICMP.
  static func names(_ protocolNumber: UInt8) -> [(String, UInt8)] {
    protocolNumber == 58 ? icmpv6 : icmp
  }

  static func number(_ name: Substring, protocol protocolNumber: UInt8) -> UInt8? {
    names(protocolNumber).first { $0.0 == name }?.1 ?? UInt8(name)
  }

  static func name(_ number: UInt8, protocol protocolNumber: UInt8) -> String {
    names(protocolNumber).first { $0.1 == number }?.0 ?? String(number)
  }

  /// Whether conntrack begins a connection with a message of this type: only requests do (echo,
  /// timestamp, information and address mask for ICMP; echo and node information for ICMPv6:
  /// `nf_conntrack_proto_icmp.c` and `_icmpv6.c`). Any other message, an error or a reply, is
  /// only ever part of the connection it quotes or answers; alone it is left untracked, and the
  /// nat chains, which see only a connection's first packet, never see it.
  static func beginsConnection(_ type: UInt8, protocol protocolNumber: UInt8) -> Bool {
    protocolNumber == 58 ? [128, 139].contains(type) : [8, 13, 15, 17].contains(type)
  }
}
