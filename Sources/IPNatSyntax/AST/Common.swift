import IPNatDiagnostics

/// A keyword option that is either present or not, with where it was written.
public struct Flag: Sendable, Hashable {
  public var range: SourceRange

  public init(range: SourceRange) { self.range = range }
}

/// A value and where it was written.
public struct Located<Value: Sendable & Hashable>: Sendable, Hashable {
  public var value: Value
  public var range: SourceRange
}

/// One interface name; `*` and `-` mean any interface.
public struct InterfaceName: Sendable, Hashable {
  public var name: String
  public var range: SourceRange

  public var isWildcard: Bool { name == "*" || name == "-" }
}

/// `IF` or `IN,OUT`. A single name is both the inbound and the outbound interface.
public struct Interfaces: Sendable, Hashable {
  public var first: InterfaceName
  public var second: InterfaceName?
  public var range: SourceRange

  public var inbound: InterfaceName { first }
  public var outbound: InterfaceName { second ?? first }
  public var all: [InterfaceName] { [first] + (second.map { [$0] } ?? []) }
}

/// One side of `from … to …`.
public struct Endpoint: Sendable, Hashable {
  public var address: Address
  public var port: PortTest?
  public var range: SourceRange
}

/// `from SRC [port …] to DST [port …]` with at most one `!`.
public struct FromTo: Sendable, Hashable {
  public enum Negation: Sendable, Hashable {
    case none
    /// `! from …` or `from ! …` (rdr rules).
    case source
    /// `from … ! to …` or `to ! …` (map rules).
    case destination
  }

  public var source: Endpoint
  public var destination: Endpoint
  public var negation: Negation
  public var range: SourceRange
}

/// `age N` or `age N/M`, in seconds: idle timeouts after a packet in the original direction
/// and after a reply. `age N` sets both.
public struct Age: Sendable, Hashable {
  public var forward: UInt32
  public var reverse: UInt32
  public var range: SourceRange
}

/// The options shared by map, map-block and rdr rules, in the order IPFilter requires them.
public struct RuleOptions: Sendable, Hashable {
  public var roundRobin: Flag?
  public var frag: Flag?
  public var age: Age?
  /// Only on rdr rules.
  public var sticky: Flag?
  public var mssclamp: Located<UInt32>?
  public var tag: Located<String>?
  public var purge: Flag?

  public init() {}
}

/// `proxy port PORT LABEL/PROTOCOL [config NAME]`: a kernel proxy (application gateway).
public struct ProxyClause: Sendable, Hashable {
  public var port: Port
  public var label: Located<String>
  public var protocolClause: ProtocolClause
  public var config: Located<String>?
  public var range: SourceRange
}
