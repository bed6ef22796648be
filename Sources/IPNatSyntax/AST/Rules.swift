import IPNatDiagnostics

/// `map` or `bimap`: translate the source address (and, for bimap, the reverse direction too).
public struct MapRule: Sendable, Hashable {
  public enum Kind: String, Sendable, Hashable {
    case map, bimap
  }

  /// What the rule matches: a source network, or a full `from … to …`.
  public enum Source: Sendable, Hashable {
    case address(Address)
    indirect case fromTo(FromTo)
  }

  /// The new source: an address (`0/32` = the interface's address) or `range A-B`.
  public enum Target: Sendable, Hashable {
    case address(Address)
    indirect case range(Network, Network, keyword: Flag?)
  }

  /// At most one of these follows the new source.
  public enum Translation: Sendable, Hashable {
    indirect case portmap(Portmap)
    indirect case icmpIDMap(ICMPIDMap)
    indirect case proxy(ProxyClause)
  }

  public var kind: Kind
  public var interfaces: Interfaces
  public var family: IPFamily
  public var source: Source
  public var target: Target
  public var translation: Translation?
  public var options: RuleOptions
  /// The protocol written among the options (not the one a portmap or proxy implies).
  public var protocolClause: ProtocolClause?
  /// The protocol the rule applies to, after IPFilter's defaults.
  public var ruleProtocol: RuleProtocol
  public var range: SourceRange
}

/// `portmap tcp|udp|tcp/udp LOW:HIGH|auto [sequential]`.
public struct Portmap: Sendable, Hashable {
  public enum Ports: Sendable, Hashable {
    case range(PortRange)
    case auto(Flag)
  }

  public var protocolClause: ProtocolClause
  public var ports: Ports
  public var sequential: Flag?
  public var range: SourceRange
}

/// `icmpidmap icmp|ipv6-icmp LOW:HIGH [sequential]`: map ICMP query ids like source ports.
public struct ICMPIDMap: Sendable, Hashable {
  public var protocolName: Located<String>
  public var ids: PortRange
  public var sequential: Flag?
  public var range: SourceRange
}

/// `map-block`: a deterministic block of addresses and ports per internal host.
public struct MapBlockRule: Sendable, Hashable {
  public enum Ports: Sendable, Hashable {
    case count(Located<UInt32>)
    case auto(Flag)
  }

  public var interfaces: Interfaces
  public var family: IPFamily
  public var source: Address
  public var target: Address
  public var ports: Ports?
  public var options: RuleOptions
  public var protocolClause: ProtocolClause?
  public var ruleProtocol: RuleProtocol
  public var range: SourceRange
}

/// The left-hand side of rdr and `no` rules: an address with optional destination ports
/// (`ADDRESS [port LOW[-HIGH]]`), or a full `from … to …`.
public enum RuleMatch: Sendable, Hashable {
  case address(Address, ports: PortRange?)
  indirect case fromTo(FromTo)
}

/// `rdr`: translate the destination of inbound packets.
public struct RdrRule: Sendable, Hashable {

  public enum Target: Sendable, Hashable {
    /// A single host (`/32`, `/128`), or `0/0` to keep the destination.
    case address(Address)
    /// `A,B`: new sessions alternate between the two.
    indirect case split(Network, Network)
    /// `[range] A-B`: accepted by IPFilter, but it only ever uses A.
    indirect case range(Network, Network, keyword: Flag?)
  }

  public enum TargetPort: Sendable, Hashable {
    /// `port P` or `port P-Q`.
    case range(PortRange)
    /// `port = P`.
    case fixed(Port)
  }

  public enum Proxy: Sendable, Hashable {
    /// `proxy LABEL`.
    case label(Located<String>)
    /// `proxy port P LABEL/PROTOCOL`, the map-style form.
    indirect case clause(ProxyClause)
  }

  public var interfaces: Interfaces
  public var family: IPFamily
  public var match: RuleMatch
  public var target: Target
  public var targetPort: TargetPort?
  public var protocolClause: ProtocolClause?
  public var ruleProtocol: RuleProtocol
  public var options: RuleOptions
  public var proxy: Proxy?
  public var range: SourceRange
}

/// `in` or `out`, for rewrite and divert rules.
public enum Direction: String, Sendable, Hashable {
  case `in`, out
}

/// `rewrite in|out on IF … -> src … dst …;`: change source and destination together.
public struct RewriteRule: Sendable, Hashable {
  public struct Target: Sendable, Hashable {
    public enum Addresses: Sendable, Hashable {
      case address(Address)
      indirect case range(Network, Network, keyword: Flag?)
      case lookup(LookupReference)
    }

    public enum Ports: Sendable, Hashable {
      /// `,LOW[-HIGH]`
      case range(PortRange)
      /// `port = P`
      case fixed(Port)
    }

    public var addresses: Addresses
    public var ports: Ports?
    public var range: SourceRange
  }

  public var direction: Located<Direction>
  public var interfaces: Interfaces
  public var family: IPFamily
  public var protocolClause: ProtocolClause?
  public var ruleProtocol: RuleProtocol
  public var match: FromTo
  public var source: Target
  public var destination: Target
  public var purge: Flag?
  public var range: SourceRange
}

/// `divert in|out on IF … -> src A,P dst B,Q udp;`: encapsulate matching packets in UDP.
public struct DivertRule: Sendable, Hashable {
  public var direction: Located<Direction>
  public var interfaces: Interfaces
  public var family: IPFamily
  public var protocolClause: ProtocolClause?
  public var match: FromTo
  public var source: Address
  public var sourcePort: Port
  public var destination: Address
  public var destinationPort: Port
  public var purge: Flag?
  public var range: SourceRange
}

/// `no map|bimap|map-block|rdr IF LHS [protocol];`: an exception that stops the rule search.
public struct NoRule: Sendable, Hashable {
  public enum Kind: String, Sendable, Hashable {
    case map, bimap
    case mapBlock = "map-block"
    case rdr
  }

  public var kind: Kind
  public var interfaces: Interfaces
  public var family: IPFamily
  /// Ports are only allowed for `no rdr`.
  public var match: RuleMatch
  public var protocolClause: ProtocolClause?
  public var ruleProtocol: RuleProtocol
  public var range: SourceRange
}

/// One NAT rule. Each case holds its syntax tree by reference (``Shared``): see there why.
public enum Rule: Sendable, Hashable {
  case map(Shared<MapRule>)
  case mapBlock(Shared<MapBlockRule>)
  case rdr(Shared<RdrRule>)
  case rewrite(Shared<RewriteRule>)
  case divert(Shared<DivertRule>)
  case no(Shared<NoRule>)

  public static func map(_ rule: consuming MapRule) -> Rule { .map(Shared(rule)) }
  public static func mapBlock(_ rule: consuming MapBlockRule) -> Rule { .mapBlock(Shared(rule)) }
  public static func rdr(_ rule: consuming RdrRule) -> Rule { .rdr(Shared(rule)) }
  public static func rewrite(_ rule: consuming RewriteRule) -> Rule { .rewrite(Shared(rule)) }
  public static func divert(_ rule: consuming DivertRule) -> Rule { .divert(Shared(rule)) }
  public static func no(_ rule: consuming NoRule) -> Rule { .no(Shared(rule)) }

  public var range: SourceRange {
    switch self {
    case .map(let rule): rule.value.range
    case .mapBlock(let rule): rule.value.range
    case .rdr(let rule): rule.value.range
    case .rewrite(let rule): rule.value.range
    case .divert(let rule): rule.value.range
    case .no(let rule): rule.value.range
    }
  }

  public var family: IPFamily {
    switch self {
    case .map(let rule): rule.value.family
    case .mapBlock(let rule): rule.value.family
    case .rdr(let rule): rule.value.family
    case .rewrite(let rule): rule.value.family
    case .divert(let rule): rule.value.family
    case .no(let rule): rule.value.family
    }
  }

  public var interfaces: Interfaces {
    switch self {
    case .map(let rule): rule.value.interfaces
    case .mapBlock(let rule): rule.value.interfaces
    case .rdr(let rule): rule.value.interfaces
    case .rewrite(let rule): rule.value.interfaces
    case .divert(let rule): rule.value.interfaces
    case .no(let rule): rule.value.interfaces
    }
  }
}

/// A rule's syntax tree, held by reference and never changed once parsed: handing it on costs
/// a reference count. An `indirect` case held it in a box too, but the compiler copied the
/// whole tree out of the box each time a case was matched and the tree passed on (an rdr rule
/// is 644 bytes with a dozen references in it, each retained and released): it cannot tell
/// that the callee leaves the box alone. A class's `let` it knows to be unchanging, and lends
/// it instead. The printer, the lowering and the lint all match on every rule.
///
/// A rule's fields read through it as through the rule (`rdr.options`); `value` is the rule.
@dynamicMemberLookup
public final class Shared<Value: Sendable & Hashable>: Sendable, Hashable {
  public let value: Value

  public init(_ value: consuming Value) { self.value = value }

  public subscript<Field>(dynamicMember field: KeyPath<Value, Field>) -> Field { value[keyPath: field] }

  public static func == (left: Shared, right: Shared) -> Bool { left === right || left.value == right.value }

  public func hash(into hasher: inout Hasher) { value.hash(into: &hasher) }
}

extension MapRule {
  /// The address IPFilter hashes a map rule by: the source, or the `from` side of from/to.
  public var sourceAddress: Address {
    switch source {
    case .address(let address): address
    case .fromTo(let fromTo): fromTo.source.address
    }
  }
}

extension RdrRule {
  /// The address IPFilter hashes an rdr rule by: the destination, or the `to` side of from/to.
  public var destinationAddress: Address {
    switch match {
    case .address(let address, _): address
    case .fromTo(let fromTo): fromTo.destination.address
    }
  }
}
