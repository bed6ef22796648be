import IPAddressing

/// The NAT-PMP server's decisions: what to answer and which mappings to make, renew or remove.
/// No I/O of its own: the daemon hands it datagrams and the time, and it changes mappings
/// through its `MappingStore`, so every rule of the protocol is testable without a network.
public final class NATPMPService {
  public private(set) var configuration: DaemonConfiguration
  public internal(set) var table = MappingTable()
  /// The external interface's address; while none is known every request gets result 3.
  public private(set) var externalAddress: UInt32?
  let store: any MappingStore
  var generator: any RandomNumberGenerator
  private var epochStart: UInt64 = 0
  /// The nonce of each mapping a PCP client made or renewed: its proof of ownership.
  var nonces: [Mapping.Key: [UInt8]] = [:]
  /// What a UPnP client called each mapping it made (NewPortMappingDescription).
  var descriptions: [Mapping.Key: String] = [:]
  /// The protocol that last made or renewed each mapping.
  var origins: [Mapping.Key: MappingOrigin] = [:]

  public init(configuration: DaemonConfiguration, store: any MappingStore,
              generator: any RandomNumberGenerator = SystemRandomNumberGenerator())
  {
    self.configuration = configuration
    self.store = store
    self.generator = generator
  }

  /// The answer to a datagram from `client` at `now` (monotonic milliseconds since the daemon
  /// started, which also gives the epoch); no bytes for a datagram NAT-PMP says to drop.
  public func respond(to datagram: [UInt8], from client: UInt32, now: UInt64) -> Reply {
    let epoch = epoch(now: now)
    // PCP's requests are at least its 24-byte header; anything shorter gets NAT-PMP's answer,
    // never one larger than eight bytes plus the datagram (no amplification).
    if configuration.pcp, datagram.count >= PCP.headerLength, datagram[0] != 0 {
      return respondPCP(to: datagram, from: client, now: now)
    }
    switch InboundMessage.decode(datagram) {
    case .ignored(let reason):
      return Reply(bytes: nil, event: "ignored \(reason)")
    case .unsupportedVersion(let version, _):
      return Reply(bytes: Response.unsupportedVersion(epoch: epoch), event: "unsupported version \(version)")
    case .unsupportedOpcode(let opcode):
      return Reply(bytes: Response.unsupportedOpcode(echoing: datagram, epoch: epoch), event: "unsupported opcode \(opcode)")
    case .externalAddressRequest:
      let result: ResultCode = externalAddress == nil ? .networkFailure : .success
      return Reply(bytes: Response.externalAddress(externalAddress ?? 0, result: result, epoch: epoch),
                   event: "external address request: \(result)")
    case .mappingRequest(let request):
      let (result, mapping) = handle(request, from: client, now: now)
      let bytes = Response.mapping(request.transport, internalPort: request.internalPort,
                                   externalPort: mapping?.externalPort ?? 0,
                                   lifetime: mapping.map { _ in granted(request.lifetime) } ?? 0,
                                   result: result, epoch: epoch)
      return Reply(bytes: bytes, event: describe(request, client: client, result: result, mapping: mapping),
                   changedMappings: result == .success && (mapping != nil || request.lifetime == 0))
    }
  }

  public struct Reply {
    public var bytes: [UInt8]?
    /// One line for the verbose log.
    public var event: String
    /// Whether the request changed a mapping (made, renewed or deleted one): such a line is
    /// the record of who opened which port, logged at the default level.
    public var changedMappings = false
  }

  private func handle(_ request: MappingRequest, from client: UInt32, now: UInt64) -> (ResultCode, Mapping?) {
    // A deletion needs no external address: the mapping must not come back with the address.
    if request.lifetime == 0 { return (delete(request, from: client), nil) }
    guard externalAddress != nil else { return (.networkFailure, nil) }
    guard request.internalPort != 0, configuration.internalPorts.contains(request.internalPort) else {
      return (.notAuthorized, nil)
    }
    let key = Mapping.Key(transport: request.transport, client: client, internalPort: request.internalPort)
    let expiry = now + UInt64(granted(request.lifetime)) * 1000
    if var existing = table[key] {
      existing.expiry = expiry
      return install(existing, now: now, by: .natpmp)
    }
    guard table.count(forClient: client) < configuration.mappingsPerClient else { return (.outOfResources, nil) }
    let port = table.sharedPort(client: client, internalPort: request.internalPort, transport: request.transport)
      ?? suggestedPort(request.suggestedExternalPort, for: key)
      ?? randomPort(for: key)
    guard let port else { return (mayHaveAnyPort(key) ? .outOfResources : .notAuthorized, nil) }
    return install(Mapping(transport: request.transport, client: client, internalPort: request.internalPort,
                           externalPort: port, expiry: expiry), now: now, by: .natpmp)
  }

  /// Kernel first, then the table: a mapping the kernel refused never exists. A new mapping
  /// clears its external port of connections that began before it; new filters end the
  /// connections of peers they refuse, and the untranslated ones of peers refused before.
  func install(_ mapping: Mapping, now: UInt64, by origin: MappingOrigin, description: String? = nil)
    -> (ResultCode, Mapping?)
  {
    let previous = table[mapping.key]
    // The kernel's element carries its note: who asked, and what for.
    let before = (origins[mapping.key], descriptions[mapping.key])
    origins[mapping.key] = origin
    if let description { descriptions[mapping.key] = description }
    do {
      if let previous {
        try store.renew([mapping], previous: [previous], now: now)
      } else {
        try store.install([mapping], now: now)
      }
    } catch {
      (origins[mapping.key], descriptions[mapping.key]) = before
      return (.networkFailure, nil)
    }
    table.insert(mapping)
    if previous == nil {
      dropConnections(of: [mapping])
    } else if previous?.filters != mapping.filters {
      dropConnections(of: [mapping], .afterFilterChange)
    }
    return (.success, mapping)
  }

  /// Connections of mappings made, deleted or expired, or of peers new filters refuse. A
  /// failure here leaves a flow translated until conntrack forgets it, which is no reason to
  /// refuse the request.
  func dropConnections(of mappings: [Mapping], _ which: ConnectionsToDrop = .all) {
    guard let externalAddress, !mappings.isEmpty else { return }
    try? store.dropConnections(of: mappings, which, externalAddress: externalAddress)
  }

  /// Lifetime 0: the client's mapping of that port, or with internal port 0 all of its mappings
  /// of the protocol. Deleting what does not exist succeeds (RFC 6886 §3.4).
  private func delete(_ request: MappingRequest, from client: UInt32) -> ResultCode {
    let doomed = request.internalPort == 0
      ? table.mappings(of: client, transport: request.transport)
      : [table[Mapping.Key(transport: request.transport, client: client, internalPort: request.internalPort)]]
        .compactMap { $0 }
    return remove(doomed) ? .success : .networkFailure
  }

  /// Kernel first, then the table, as for `install`; the mappings' nonces and connections go
  /// with them. False when the kernel refused.
  func remove(_ doomed: [Mapping]) -> Bool {
    guard !doomed.isEmpty else { return true }
    do {
      try store.remove(doomed)
    } catch {
      return false
    }
    for mapping in doomed { table.remove(mapping.key) }
    end(doomed)
    return true
  }

  /// What goes with mappings that are out of the table: their nonces, so that the next
  /// mapping of the same client port has no owner yet, their descriptions, and their
  /// connections.
  private func end(_ ended: [Mapping]) {
    for mapping in ended { (nonces[mapping.key], descriptions[mapping.key], origins[mapping.key]) = (nil, nil, nil) }
    dropConnections(of: ended)
  }

  /// NAT-PMP's lifetime: the client's, up to the configured maximum.
  private func granted(_ lifetime: UInt32) -> UInt32 { min(lifetime, configuration.lifetimes.upperBound) }

  /// The port the client suggests, when the mapping may take it: a client that comes back after
  /// a restart, of its own or of the gateway, keeps its public port (RFC 6886 §3.3).
  func suggestedPort(_ port: UInt16, for key: Mapping.Key) -> UInt16? {
    port != 0 && mayTake(port, for: key) ? port : nil
  }

  /// A free external port of the range, at random, that the permission rules give `key`.
  func randomPort(for key: Mapping.Key) -> UInt16? {
    table.randomFreePort(in: configuration.externalPorts, using: &generator) { port in
      configuration.permits(externalPort: port, client: key.client, internalPort: key.internalPort)
    }
  }

  /// Whether the permission rules give `key` any port of the range, taken or not: when none,
  /// a request is refused as not authorized rather than out of resources.
  func mayHaveAnyPort(_ key: Mapping.Key) -> Bool {
    configuration.permissions.isEmpty || configuration.externalPorts.contains { port in
      configuration.permits(externalPort: port, client: key.client, internalPort: key.internalPort)
    }
  }

  /// Whether the mapping `key` may have external `port`: permitted, and free, or already the
  /// port of the same client port's mapping by the other protocol (the two share one port).
  func mayTake(_ port: UInt16, for key: Mapping.Key) -> Bool {
    guard configuration.permits(externalPort: port, client: key.client, internalPort: key.internalPort) else {
      return false
    }
    let shared = table.sharedPort(client: key.client, internalPort: key.internalPort, transport: key.transport)
    return shared.map { $0 == port } ?? table.isFree(port)
  }

  /// A configuration read again (SIGHUP): its port ranges and limits apply from now on, and the
  /// mappings that no longer fit them end; the others stay, with their ports. The interfaces
  /// and addresses served stay as they are until a restart. Returns the mappings that ended.
  @discardableResult
  public func reconfigure(_ new: DaemonConfiguration, now: UInt64) -> [Mapping] {
    var kept = new
    (kept.externalInterface, kept.listenAddresses) = (configuration.externalInterface, configuration.listenAddresses)
    configuration = kept
    let current = table.mappings.values.sorted { ($0.client, $0.externalPort, $0.transport.rawValue) < ($1.client, $1.externalPort, $1.transport.rawValue) }
    table = MappingTable()
    adopt(current, notes: Dictionary(uniqueKeysWithValues: current.map { ($0.key, note(for: $0.key)) }))
    let ended = current.filter { table[$0.key] == nil }
    if !ended.isEmpty {
      try? store.remove(ended)
      end(ended)
    }
    return ended
  }

  /// Takes over mappings the kernel still holds from an earlier run, before the first request:
  /// a crash or an upgrade loses none. Those that no longer fit the configuration, or clash
  /// with one taken already, are left out (the kernel drops them in the rebuild that follows).
  /// `notes`: the notes their elements carried (`note(for:)`), which say who made them.
  public func adopt(_ mappings: [Mapping], notes: [Mapping.Key: String] = [:]) {
    for mapping in mappings.sorted(by: { $0.externalPort < $1.externalPort }) where fits(mapping) {
      table.insert(mapping)
      if let note = notes[mapping.key], let (origin, description) = MappingOrigin.read(note) {
        (origins[mapping.key], descriptions[mapping.key]) = (origin, description)
      }
    }
  }

  /// What the kernel's element of a mapping says of it: the protocol that asked, and a UPnP
  /// client's description (`UPnP: game server`), at most 127 bytes as nft's comments are.
  public func note(for key: Mapping.Key) -> String {
    guard let origin = origins[key] else { return "" }
    guard let description = descriptions[key], !description.isEmpty else { return origin.rawValue }
    var note = "\(origin.rawValue): \(description)"
    while note.utf8.count > 127 { note.removeLast() }
    return note
  }

  private func fits(_ mapping: Mapping) -> Bool {
    table[mapping.key] == nil && configuration.internalPorts.contains(mapping.internalPort)
      && table.count(forClient: mapping.client) < configuration.mappingsPerClient
      && mayTake(mapping.externalPort, for: mapping.key)
  }

  /// The protocol's epoch: seconds since the service began, or since its mappings were lost and
  /// restored (`restartEpoch`), which tells clients to map again.
  public func epoch(now: UInt64) -> UInt32 { UInt32(clamping: (now - min(now, epochStart)) / 1000) }

  /// Starts the epoch over, as after a loss of state (RFC 6886 §3.6).
  public func restartEpoch(now: UInt64) { epochStart = now }

  /// Puts every mapping back in a table that disappeared (another program removed it), for the
  /// current address.
  public func restore(now: UInt64) throws {
    expire(now: now)
    try store.rebuild(externalAddress: externalAddress, mappings: Array(table.mappings.values), now: now)
    restartEpoch(now: now)
  }

  /// Forgets mappings whose time is up (the kernel has dropped their elements by itself) and
  /// ends their connections.
  @discardableResult
  public func expire(now: UInt64) -> [Mapping] {
    let expired = table.removeExpired(now: now)
    end(expired)
    return expired
  }

  /// A new external address (nil when the interface has none): the kernel's table starts over
  /// with the mappings that remain. Returns whether the address changed.
  public func setExternalAddress(_ address: UInt32?, now: UInt64) throws -> Bool {
    let address = address == 0 ? nil : address
    guard address != externalAddress else { return false }
    expire(now: now)
    try store.rebuild(externalAddress: address, mappings: Array(table.mappings.values), now: now)
    externalAddress = address
    return true
  }

  private func describe(_ request: MappingRequest, client: UInt32, result: ResultCode, mapping: Mapping?) -> String {
    let source = "\(IPAddress.formatIPv4(client)):\(request.internalPort) \(request.transport)"
    if request.lifetime == 0 { return "delete \(source): \(result)" }
    guard let mapping else { return "map \(source): \(result)" }
    return "map \(source) to external port \(mapping.externalPort) for \(granted(request.lifetime)) s: \(result)"
  }
}

extension ResultCode: CustomStringConvertible {
  public var description: String {
    switch self {
    case .success: "success"
    case .unsupportedVersion: "unsupported version"
    case .notAuthorized: "not authorized"
    case .networkFailure: "network failure"
    case .outOfResources: "out of resources"
    case .unsupportedOpcode: "unsupported opcode"
    }
  }
}
