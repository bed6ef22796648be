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
    if let icmpType { words.append(ICMPTypes.name(icmpType)) }
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

/// ICMP types by the names nft and ipftest use.
enum ICMPTypes {
  static let names: [(String, UInt8)] = [
    ("echo-reply", 0), ("destination-unreachable", 3), ("redirect", 5), ("echo-request", 8), ("echo", 8),
    ("time-exceeded", 11), ("parameter-problem", 12), ("timestamp-request", 13), ("timestamp-reply", 14),
  ]

  static func number(_ name: Substring) -> UInt8? {
    names.first { $0.0 == name }?.1 ?? UInt8(name)
  }

  static func name(_ number: UInt8) -> String {
    names.first { $0.1 == number }?.0 ?? String(number)
  }
}
