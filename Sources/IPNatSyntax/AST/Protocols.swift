import IPNatDiagnostics

/// A protocol as written in a rule: `tcp`, `udp`, `tcp/udp` (or `tcpudp`), or any other
/// protocol by number or name (`ip` is 0, which means every protocol).
public enum ProtocolSpec: Sendable, Hashable {
  case tcp
  case udp
  case tcpUDP
  case number(UInt8)

  public init(number: UInt8) {
    switch number {
    case 6: self = .tcp
    case 17: self = .udp
    default: self = .number(number)
    }
  }

  /// Whether rules with this protocol can test and translate ports.
  public var carriesPorts: Bool {
    switch self {
    case .tcp, .udp, .tcpUDP: true
    case .number: false
    }
  }
}

/// A protocol clause and where it was written.
public struct ProtocolClause: Sendable, Hashable {
  public var spec: ProtocolSpec
  public var range: SourceRange
}

/// The protocol a rule ends up applying to, after IPFilter's defaults: a `port` keyword with no
/// protocol means tcp/udp, `portmap`/`proxy`/`icmpidmap` set it themselves.
public enum RuleProtocol: Sendable, Hashable {
  /// Every protocol (nothing given, or `ip`).
  case any
  case tcp
  case udp
  case tcpUDP
  case number(UInt8)

  public init(_ spec: ProtocolSpec?) {
    switch spec {
    case nil, .number(0): self = .any
    case .tcp: self = .tcp
    case .udp: self = .udp
    case .tcpUDP: self = .tcpUDP
    case .number(let value): self = .number(value)
    }
  }

  public var carriesPorts: Bool {
    switch self {
    case .tcp, .udp, .tcpUDP: true
    case .any, .number: false
    }
  }
}
