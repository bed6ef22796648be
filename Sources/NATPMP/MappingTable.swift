import IPAddressing

/// One port mapping: the external port on the gateway's address goes to the client's port.
public struct Mapping: Sendable, Hashable {
  public var transport: MappedProtocol
  public var client: UInt32
  public var internalPort: UInt16
  public var externalPort: UInt16
  /// When it ends, in milliseconds of the daemon's monotonic clock.
  public var expiry: UInt64
  /// The remote peers that may reach the mapping (PCP's FILTER option), sorted; empty: any.
  public var filters: [PeerFilter]

  public init(transport: MappedProtocol, client: UInt32, internalPort: UInt16, externalPort: UInt16, expiry: UInt64,
              filters: [PeerFilter] = []) {
    self.transport = transport
    self.client = client
    self.internalPort = internalPort
    self.externalPort = externalPort
    self.expiry = expiry
    self.filters = filters
  }

  /// Whether a peer may open a connection through the mapping.
  public func admits(peer address: UInt32, port: UInt16) -> Bool {
    filters.isEmpty || filters.contains { $0.admits(address, port) }
  }

  /// What identifies a mapping in requests: the protocol, the client and its port.
  public var key: Key { Key(transport: transport, client: client, internalPort: internalPort) }

  public struct Key: Sendable, Hashable {
    public var transport: MappedProtocol
    public var client: UInt32
    public var internalPort: UInt16
  }
}

/// A remote peer, or a network of them, allowed through a mapping (RFC 6887 §13.3): an IPv4
/// prefix and one port, or every port.
public struct PeerFilter: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// The network, its host bits clear.
  public let network: UInt32
  public let prefixLength: Int
  /// Nil: every port.
  public let port: UInt16?

  public init(network: UInt32, prefixLength: Int, port: UInt16?) {
    precondition((0...32).contains(prefixLength), "an IPv4 prefix length")
    self.network = network & Self.mask(prefixLength)
    self.prefixLength = prefixLength
    self.port = port
  }

  public func admits(_ address: UInt32, _ port: UInt16) -> Bool {
    address & Self.mask(prefixLength) == network && (self.port.map { $0 == port } ?? true)
  }

  static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : ~UInt32(0) << (32 - length) }

  public static func < (a: PeerFilter, b: PeerFilter) -> Bool {
    (a.network, a.prefixLength, a.port ?? 0) < (b.network, b.prefixLength, b.port ?? 0)
  }

  public var description: String {
    "\(IPAddress.formatIPv4(network))/\(prefixLength) port \(port.map(String.init) ?? "any")"
  }
}

/// The daemon's mappings: each external port belongs to one client port, TCP and UDP alike,
/// so that both protocols of a client port share their external port and no two client ports
/// ever share one.
public struct MappingTable: Sendable {
  public private(set) var mappings: [Mapping.Key: Mapping] = [:]
  /// External port → the client port it serves, and for how many protocols.
  private var owners: [UInt16: (client: UInt32, internalPort: UInt16, protocols: Int)] = [:]
  private var countPerClient: [UInt32: Int] = [:]

  public init() {}

  public var count: Int { mappings.count }

  public subscript(key: Mapping.Key) -> Mapping? { mappings[key] }

  public func count(forClient client: UInt32) -> Int { countPerClient[client, default: 0] }

  /// The external port already serving this client port through the other protocol, if any.
  public func sharedPort(client: UInt32, internalPort: UInt16, transport: MappedProtocol) -> UInt16? {
    let other: MappedProtocol = transport == .udp ? .tcp : .udp
    return mappings[Mapping.Key(transport: other, client: client, internalPort: internalPort)]?.externalPort
  }

  public func isFree(_ port: UInt16) -> Bool { owners[port] == nil }

  /// Whether `port` is free, or already the port of that client port (by the other protocol).
  public func isFree(_ port: UInt16, orHeldBy client: UInt32, _ internalPort: UInt16) -> Bool {
    owners[port].map { $0.client == client && $0.internalPort == internalPort } ?? true
  }

  /// The mapping of an external port and protocol, if any.
  public func mapping(externalPort: UInt16, transport: MappedProtocol) -> Mapping? {
    owners[externalPort].flatMap {
      mappings[Mapping.Key(transport: transport, client: $0.client, internalPort: $0.internalPort)]
    }
  }

  /// A free port of `range` that `permitted` accepts, at random; nil when there is none.
  public func randomFreePort(in range: ClosedRange<UInt16>, using generator: inout some RandomNumberGenerator,
                             where permitted: (UInt16) -> Bool = { _ in true }) -> UInt16? {
    let size = Int(range.upperBound) - Int(range.lowerBound) + 1
    // Random probes find a port at once while the range is mostly free; past that, a scan
    // from a random start is bounded by the range's size.
    for _ in 0..<16 {
      let port = UInt16.random(in: range, using: &generator)
      if isFree(port) && permitted(port) { return port }
    }
    let start = Int.random(in: 0..<size, using: &generator)
    for step in 0..<size {
      let port = UInt16(Int(range.lowerBound) + (start + step) % size)
      if isFree(port) && permitted(port) { return port }
    }
    return nil
  }

  /// Adds a mapping, or replaces the one with its key (a renewal).
  public mutating func insert(_ mapping: Mapping) {
    if let old = mappings[mapping.key] {
      precondition(old.externalPort == mapping.externalPort, "a renewal keeps its external port")
      mappings[mapping.key] = mapping
      return
    }
    if let owner = owners[mapping.externalPort] {
      precondition(owner.client == mapping.client && owner.internalPort == mapping.internalPort,
                   "an external port serves one client port")
      owners[mapping.externalPort]!.protocols += 1
    } else {
      owners[mapping.externalPort] = (mapping.client, mapping.internalPort, 1)
    }
    mappings[mapping.key] = mapping
    countPerClient[mapping.client, default: 0] += 1
  }

  @discardableResult
  public mutating func remove(_ key: Mapping.Key) -> Mapping? {
    guard let mapping = mappings.removeValue(forKey: key) else { return nil }
    owners[mapping.externalPort]!.protocols -= 1
    if owners[mapping.externalPort]!.protocols == 0 { owners[mapping.externalPort] = nil }
    countPerClient[mapping.client]! -= 1
    if countPerClient[mapping.client] == 0 { countPerClient[mapping.client] = nil }
    return mapping
  }

  /// The client's mappings of one protocol (a deletion with internal port 0).
  public func mappings(of client: UInt32, transport: MappedProtocol) -> [Mapping] {
    guard count(forClient: client) > 0 else { return [] }
    return mappings.values.filter { $0.client == client && $0.transport == transport }
  }

  /// Forgets the mappings that ended by `now` (the kernel drops its elements itself) and
  /// returns them.
  public mutating func removeExpired(now: UInt64) -> [Mapping] {
    let expired = mappings.values.filter { $0.expiry <= now }
    for mapping in expired { remove(mapping.key) }
    return expired
  }
}
