import IPAddressing

/// A value an expression reads from the packet or its connection.
public enum Selector: Sendable, Hashable {
  /// `iifname`, `oifname`, `meta l4proto`, `meta nfproto`, `meta mark`.
  case meta(MetaKey)
  /// `ip saddr`, `tcp dport`, `th dport`, …
  case payload(PayloadField)
  /// `ct original ip daddr`, `ct original proto-dst`.
  case conntrack(ConntrackKey)
  /// `tcp option maxseg size`.
  case tcpMaxSegmentSize
  /// `fib daddr oifname`: the interface the routing table would send the packet out of, known
  /// before routing (in prerouting) from its destination.
  case routeOutputName
  /// `numgen inc mod N`.
  case numgenIncrement(modulus: UInt32)

  public enum MetaKey: String, Sendable, Hashable {
    case iifname, oifname, l4proto, nfproto, mark
  }

  public enum ConntrackKey: Sendable, Hashable {
    case originalSourceAddress(AddressFamily)
    case originalDestinationAddress(AddressFamily)
    case originalSourcePort
    case originalDestinationPort
    /// `ct status`: a bit set (`dnat`, `snat`, …), so a match tests membership.
    case status
  }
}

/// `ip saddr`, `tcp dport`, …: a protocol header and a field.
public struct PayloadField: Sendable, Hashable {
  public enum Header: String, Sendable, Hashable {
    case ip, ip6, tcp, udp
    /// The transport header of whatever protocol the packet carries (`th`).
    case th
    case icmp
    case icmpv6
  }

  public enum Field: String, Sendable, Hashable {
    case saddr, daddr, `protocol`, nexthdr, sport, dport, flags, type
  }

  public var header: Header
  public var field: Field

  public init(_ header: Header, _ field: Field) {
    self.header = header
    self.field = field
  }
}

/// A constant or computed value. Only the cases that hold an expression are `indirect`: a
/// boxed case costs an allocation, and rulesets have hundreds of thousands of constants.
public enum Expression: Sendable, Hashable {
  case selector(Selector)
  case address(IPAddress)
  /// `10.0.0.0/8`
  case prefix(IPAddress, length: Int)
  /// `10.0.0.1-10.0.0.9`
  indirect case addressRange(IPAddress, IPAddress)
  case integer(UInt64)
  /// `1024-65535`
  case integerRange(UInt64, UInt64)
  /// A quoted string: interface names (`"eth0"`, `"ppp*"`).
  case string(String)
  /// A symbolic constant nft knows by name: `tcp`, `udp`, `syn`, `echo-request`, `ipv4`.
  case symbol(String)
  /// An anonymous set: `{ tcp, udp }`.
  case set([Expression])
  /// `a . b`
  case concatenation([Expression])
  /// `ip saddr & 255.255.255.0`
  indirect case bitwiseAnd(Expression, Expression)
  /// `(syn | rst)`: a combination of flags.
  case bitwiseOr([Expression])
  /// `KEY map @name` or `KEY map { k : v, … }`.
  indirect case lookup(key: Expression, map: MapReference)
  /// `@name` on the right of a match: the key is one of the named map's keys.
  case keys(ofMap: String)
}

/// A named map of the table, or an anonymous one written inline.
public enum MapReference: Sendable, Hashable {
  case named(String)
  case inline([MapElement])
}

/// A comparison of a selector (or computed value) with a value.
public struct Match: Sendable, Hashable {
  public enum Operator: String, Sendable, Hashable {
    /// Written as juxtaposition: `ip saddr 10.0.0.0/8`, membership for sets and ranges.
    case implicit = ""
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case greater = ">"
    case lessOrEqual = "<="
    case greaterOrEqual = ">="
  }

  public var left: Expression
  public var op: Operator
  public var right: Expression

  public init(_ left: Expression, _ op: Operator, _ right: Expression) {
    self.left = left
    self.op = op
    self.right = right
  }

  /// `left right`: equality, or membership in a set, range or prefix.
  public init(_ left: Expression, _ right: Expression) { self.init(left, .implicit, right) }
  public init(_ selector: Selector, _ op: Operator, _ right: Expression) { self.init(.selector(selector), op, right) }
  public init(_ selector: Selector, _ right: Expression) { self.init(.selector(selector), .implicit, right) }
}
