import Glibc
import IPNatNetlink
import NATPMP
import NFTKernel
import NFTModel

/// Mappings as elements of the daemon's two nftables maps (inbound and outbound, see
/// `KernelLayout`): each change is one netlink transaction that changes both halves, and each
/// element carries its own timeout, so mappings expire on time even if the daemon has died.
final class KernelMappings: MappingStore {
  private let ruleset: KernelRuleset
  private let externalInterface: String
  /// Whether re-adding an element gives it the new timeout. Linux 6.18, which CI runs, does;
  /// `checkRenewal()` finds out at start. Where it does not, a renewal deletes the elements and
  /// adds them again, in one transaction.
  private(set) var renewalRefreshesTimeouts = true
  /// Each mapping's note (who asked for it), carried as its inbound elements' comment so that
  /// a listing, or the next run, can tell.
  var note: (Mapping.Key) -> String = { _ in "" }

  init(ruleset: KernelRuleset, externalInterface: String) {
    self.ruleset = ruleset
    self.externalInterface = externalInterface
  }

  func renew(_ mappings: [Mapping], previous: [Mapping], now: UInt64) throws {
    // Re-adding an element renews its timeout but keeps its comment: a mapping whose note
    // changed (another protocol renews it) has its elements deleted and added again, in the
    // same transaction, never absent outside it.
    let renoted = Set(mappings.filter { note($0.key) != writtenNotes[$0.key] }.map(\.key))
    let adding = try elements(mappings, now: now)
    var deleting = try elements(previous.filter { !renoted.contains($0.key) }, now: nil)
    if renewalRefreshesTimeouts {
      // Re-adding an element renews it: delete only those the new filters no longer have.
      for (set, elements) in deleting {
        let kept = Set(adding[set, default: []].map { [$0.key, $0.keyEnd ?? []] })
        deleting[set] = elements.filter { !kept.contains([$0.key, $0.keyEnd ?? []]) }
      }
    }
    for (set, elements) in try self.elements(previous.filter { renoted.contains($0.key) }, now: nil) {
      deleting[set, default: []] += elements
    }
    try change(adding: adding, deleting: deleting)
  }

  /// The note each mapping's elements carry in the kernel, as last written.
  private var writtenNotes: [Mapping.Key: String] = [:]

  /// Whether this kernel refreshes a re-added element's timeout: an element added with a minute,
  /// then again with an hour, in a scratch table of the same map, read back.
  @discardableResult
  func checkRenewal() throws -> Bool {
    let scratch = KernelLayout.tableName + "_probe"
    var table = try Linearizer.linearize(Table(family: .inet, name: scratch, maps: [KernelLayout.map]))
    table.sets[0].elements = []
    try ruleset.replace(with: table)
    defer { try? ruleset.remove(table: scratch) }
    let probe = Mapping(transport: .tcp, client: 0, internalPort: 0, externalPort: 0, expiry: 0)
    for minutes: UInt64 in [1, 60] {
      let element = try Linearizer.element(KernelLayout.element(probe), of: KernelLayout.map, timeout: minutes * 60_000)
      try ruleset.changeElements([.init(set: KernelLayout.mapName, adding: [element])], inTable: scratch)
    }
    let expiration = try ruleset.elements(ofSet: KernelLayout.mapName, inTable: scratch).first?.expiration ?? 0
    renewalRefreshesTimeouts = expiration > 10 * 60_000
    return renewalRefreshesTimeouts
  }

  func install(_ mappings: [Mapping], now: UInt64) throws {
    try change(adding: try elements(mappings, now: now), deleting: [:])
  }

  /// One transaction: deletions first, then additions, each map named once.
  private func change(adding: [String: [KernelElement]], deleting: [String: [KernelElement]]) throws {
    let names = Set(adding.keys).union(deleting.keys).sorted()
    let changes = names.compactMap { name -> KernelRuleset.ElementChange? in
      let (add, delete) = (adding[name, default: []], deleting[name, default: []])
      return add.isEmpty && delete.isEmpty ? nil : .init(set: name, adding: add, deleting: delete)
    }
    guard !changes.isEmpty else { return }
    try ruleset.changeElements(changes, inTable: KernelLayout.tableName)
  }

  func remove(_ mappings: [Mapping]) throws {
    for mapping in mappings { writtenNotes[mapping.key] = nil }
    do {
      try delete(mappings)
    } catch where Self.isMissingElement(error) && mappings.count > 1 {
      // The kernel dropped some at their timeout a moment before the daemon forgot them, and
      // one missing element fails the whole transaction: delete the others one by one.
      for mapping in mappings {
        do {
          try delete([mapping])
        } catch where Self.isMissingElement(error) {
          continue
        }
      }
    } catch where Self.isMissingElement(error) {
      return
    }
  }

  private func delete(_ mappings: [Mapping]) throws {
    try change(adding: [:], deleting: try elements(mappings, now: nil))
  }

  private static func isMissingElement(_ error: any Error) -> Bool {
    guard case .rejected(let rejections) = error as? NetlinkError else { return false }
    return rejections.allSatisfy { $0.errorNumber == ENOENT }
  }

  func rebuild(externalAddress: UInt32?, mappings: [Mapping], now: UInt64) throws {
    writtenNotes = [:]
    var table = try Linearizer.linearize(KernelLayout.table(externalAddress: externalAddress,
                                                            externalInterface: externalInterface))
    for (name, elements) in try elements(mappings, now: now) {
      let index = table.sets.firstIndex { $0.name == name }!
      table.sets[index].elements = elements
    }
    try ruleset.replace(with: table)
  }

  /// Queued for `flushConnectionDrops`: the pass over the conntrack table walks all of it (every
  /// namespace's buckets), some milliseconds, so the changes of a moment share one pass.
  func dropConnections(of mappings: [Mapping], _ which: ConnectionsToDrop, externalAddress: UInt32) throws {
    switch which {
    case .all:
      pendingDrops[externalAddress, default: []] += mappings
    case .afterFilterChange:
      for mapping in mappings { pendingFilters[Self.port(mapping, at: externalAddress)] = mapping }
    }
  }

  private var pendingDrops: [UInt32: [Mapping]] = [:]
  /// Mappings whose filters changed, by `port(_:at:)`: the latest filters count.
  private var pendingFilters: [UInt64: Mapping] = [:]

  /// A protocol, address and port as one number.
  private static func port(_ number: UInt8, _ address: UInt32, _ port: UInt16) -> UInt64 {
    UInt64(number) << 48 | UInt64(address) << 16 | UInt64(port)
  }

  private static func port(_ mapping: Mapping, at externalAddress: UInt32) -> UInt64 {
    port(mapping.transport.protocolNumber, externalAddress, mapping.externalPort)
  }

  /// Ends the connections of the mappings queued since the last call, in one pass; returns how
  /// many entries went.
  @discardableResult
  func flushConnectionDrops() throws -> Int {
    guard !pendingDrops.isEmpty || !pendingFilters.isEmpty else { return 0 }
    let (drops, filtered) = (pendingDrops, pendingFilters)
    (pendingDrops, pendingFilters) = ([:], [:])
    // The external ports, and the client ports, of each protocol, per external address.
    var external: Set<UInt64> = []
    var client: [UInt64: (address: UInt32, port: UInt16)] = [:]
    for (address, mappings) in drops {
      for mapping in mappings {
        external.insert(Self.port(mapping, at: address))
        client[Self.port(mapping.transport.protocolNumber, mapping.client, mapping.internalPort)] =
          (address, mapping.externalPort)
      }
    }
    return try ruleset.deleteConnections { tuples in
      let (original, reply) = (tuples.original, tuples.reply)
      // In from a peer, translated or not yet: to the external address and port.
      let inbound = Self.port(original.protocolNumber, original.destination, original.destinationPort)
      if external.contains(inbound) { return true }
      if let mapping = filtered[inbound] {
        let reachedClient = reply.source == mapping.client && reply.sourcePort == mapping.internalPort
        return !reachedClient || !mapping.admits(peer: original.source, port: original.sourcePort)
      }
      // Out from the client's port, through the mapping's source translation.
      let outbound = Self.port(original.protocolNumber, original.source, original.sourcePort)
      return client[outbound].map { reply.destination == $0.address && reply.destinationPort == $0.port } ?? false
    }
  }

  /// The mappings the kernel holds in the daemon's table (left by an earlier run that crashed
  /// or was upgraded, or listed while one runs), with the time each has left from `now`, and
  /// their notes; a filtered mapping gathers its filters from its elements.
  func heldMappings(now: UInt64) throws -> (mappings: [Mapping], notes: [Mapping.Key: String]) {
    var notes: [Mapping.Key: String] = [:]
    let open = try ruleset.elements(ofSet: KernelLayout.mapName, inTable: KernelLayout.tableName).compactMap { element in
      let mapping = element.data.flatMap {
        KernelLayout.mapping(key: element.key, data: $0, expiry: now + (element.expiration ?? 0))
      }
      if let mapping, let comment = element.comment { notes[mapping.key] = comment }
      return mapping
    }
    var filtered: [Mapping.Key: Mapping] = [:]
    for element in try ruleset.elements(ofSet: KernelLayout.filteredMapName, inTable: KernelLayout.tableName) {
      guard let keyEnd = element.keyEnd, let data = element.data,
        let part = KernelLayout.filteredMapping(key: element.key, keyEnd: keyEnd, data: data,
                                                expiry: now + (element.expiration ?? 0))
      else { continue }
      if let known = filtered[part.key] {
        filtered[part.key]?.filters = (known.filters + part.filters).sorted()
      } else {
        filtered[part.key] = part
      }
      if let comment = element.comment { notes[part.key] = comment }
    }
    return (open + filtered.values.sorted { $0.externalPort < $1.externalPort }, notes)
  }

  /// Whether the daemon's table is still there (`nft flush ruleset` removes it with the rest).
  func tableExists() throws -> Bool { try ruleset.tableExists(KernelLayout.tableName) }

  /// Removes the daemon's table, and with it every mapping.
  func removeTable() throws {
    try ruleset.remove(table: KernelLayout.tableName)
  }

  /// The elements of each mapping, by map: its inbound ones (see `KernelLayout.inboundElements`)
  /// and its outbound one. `now`: for elements to add, the time their timeouts count from;
  /// nil for elements to delete.
  private func elements(_ mappings: [Mapping], now: UInt64?) throws -> [String: [KernelElement]] {
    var elements: [String: [KernelElement]] = [:]
    for mapping in mappings {
      let timeout = now.map { mapping.expiry > $0 ? mapping.expiry - $0 : 1 }
      let inbound = KernelLayout.inboundElements(mapping)
      let note = now == nil ? "" : note(mapping.key)
      if now != nil { writtenNotes[mapping.key] = note }
      for element in inbound.elements {
        var kernelElement = try Linearizer.element(element, of: inbound.map, timeout: timeout)
        if !note.isEmpty { kernelElement.userdata = KernelLayout.commentUserdata(note) }
        elements[inbound.map.name, default: []].append(kernelElement)
      }
      elements[KernelLayout.outboundMapName, default: []].append(
        try Linearizer.element(KernelLayout.outboundElement(mapping), of: KernelLayout.outboundMap, timeout: timeout))
    }
    return elements
  }
}

/// `ipnat natpmpd -l`: the mappings in force, read from the daemon's table in the kernel, whose
/// elements carry all there is to tell (ports, time left, filters, and the note of who asked).
public enum MappingsInForce {
  public struct Entry: Sendable {
    public var mapping: Mapping
    /// Seconds left, rounded up.
    public var secondsLeft: UInt64
    public var origin: MappingOrigin?
    public var description: String
  }

  /// Nil when there is no table: no daemon runs.
  public static func read() throws(Daemon.Failure) -> [Entry]? {
    do {
      let store = KernelMappings(ruleset: try KernelRuleset(), externalInterface: "")
      guard try store.tableExists() else { return nil }
      let held = try store.heldMappings(now: 0)
      return held.mappings.map { mapping in
        let (origin, description) = held.notes[mapping.key].flatMap(MappingOrigin.read) ?? (nil, "")
        return Entry(mapping: mapping, secondsLeft: (mapping.expiry + 999) / 1000, origin: origin, description: description)
      }.sorted { ($0.mapping.externalPort, $0.mapping.transport.rawValue) < ($1.mapping.externalPort, $1.mapping.transport.rawValue) }
    } catch let error as NetlinkError {
      throw Daemon.Failure(description: "\(error)", status: error == .notPermitted ? 4 : 3)
    } catch {
      throw Daemon.Failure(description: "\(error)", status: 3)
    }
  }
}
