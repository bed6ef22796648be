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

  init(ruleset: KernelRuleset, externalInterface: String) {
    self.ruleset = ruleset
    self.externalInterface = externalInterface
  }

  func renew(_ mappings: [Mapping], now: UInt64) throws {
    guard !renewalRefreshesTimeouts else { return try install(mappings, now: now) }
    let (inbound, outbound) = try Self.elements(mappings, now: now)
    let (oldInbound, oldOutbound) = try Self.elements(mappings, now: nil)
    try ruleset.changeElements([.init(set: KernelLayout.mapName, adding: inbound, deleting: oldInbound),
                                .init(set: KernelLayout.outboundMapName, adding: outbound, deleting: oldOutbound)],
                               inTable: KernelLayout.tableName)
  }

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
    let (inbound, outbound) = try Self.elements(mappings, now: now)
    try ruleset.changeElements([.init(set: KernelLayout.mapName, adding: inbound),
                                .init(set: KernelLayout.outboundMapName, adding: outbound)],
                               inTable: KernelLayout.tableName)
  }

  func remove(_ mappings: [Mapping]) throws {
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
    let (inbound, outbound) = try Self.elements(mappings, now: nil)
    try ruleset.changeElements([.init(set: KernelLayout.mapName, deleting: inbound),
                                .init(set: KernelLayout.outboundMapName, deleting: outbound)],
                               inTable: KernelLayout.tableName)
  }

  private static func isMissingElement(_ error: any Error) -> Bool {
    guard case .rejected(let rejections) = error as? NetlinkError else { return false }
    return rejections.allSatisfy { $0.errorNumber == ENOENT }
  }

  func rebuild(externalAddress: UInt32?, mappings: [Mapping], now: UInt64) throws {
    var table = try Linearizer.linearize(KernelLayout.table(externalAddress: externalAddress,
                                                            externalInterface: externalInterface))
    let (inbound, outbound) = try Self.elements(mappings, now: now)
    for (name, elements) in [(KernelLayout.mapName, inbound), (KernelLayout.outboundMapName, outbound)] {
      let index = table.sets.firstIndex { $0.name == name }!
      table.sets[index].elements = elements
    }
    try ruleset.replace(with: table)
  }

  /// Queued for `flushConnectionDrops`: the pass over the conntrack table walks all of it (every
  /// namespace's buckets), some milliseconds, so the changes of a moment share one pass.
  func dropConnections(of mappings: [Mapping], externalAddress: UInt32) throws {
    pendingDrops[externalAddress, default: []] += mappings
  }

  private var pendingDrops: [UInt32: [Mapping]] = [:]

  /// Ends the connections of the mappings queued since the last call, in one pass; returns how
  /// many entries went.
  @discardableResult
  func flushConnectionDrops() throws -> Int {
    guard !pendingDrops.isEmpty else { return 0 }
    let drops = pendingDrops
    pendingDrops = [:]
    // The external ports, and the client ports, of each protocol, per external address.
    var external: Set<UInt64> = []
    var client: [UInt64: (address: UInt32, port: UInt16)] = [:]
    for (address, mappings) in drops {
      for mapping in mappings {
        let number = UInt64(mapping.transport.protocolNumber)
        external.insert(number << 48 | UInt64(address) << 16 | UInt64(mapping.externalPort))
        client[number << 48 | UInt64(mapping.client) << 16 | UInt64(mapping.internalPort)] = (address, mapping.externalPort)
      }
    }
    return try ruleset.deleteConnections { tuples in
      let (original, reply) = (tuples.original, tuples.reply)
      let number = UInt64(original.protocolNumber)
      // In from a peer, translated or not yet: to the external address and port.
      if external.contains(number << 48 | UInt64(original.destination) << 16 | UInt64(original.destinationPort)) {
        return true
      }
      // Out from the client's port, through the mapping's source translation.
      let key = number << 48 | UInt64(original.source) << 16 | UInt64(original.sourcePort)
      return client[key].map { reply.destination == $0.address && reply.destinationPort == $0.port } ?? false
    }
  }

  /// The mappings the kernel still holds in the daemon's table (left by an earlier run that
  /// crashed or was upgraded), with the time each has left from `now`.
  func heldMappings(now: UInt64) throws -> [Mapping] {
    try ruleset.elements(ofSet: KernelLayout.mapName, inTable: KernelLayout.tableName).compactMap { element in
      guard let data = element.data else { return nil }
      return KernelLayout.mapping(key: element.key, data: data, expiry: now + (element.expiration ?? 0))
    }
  }

  /// Whether the daemon's table is still there (`nft flush ruleset` removes it with the rest).
  func tableExists() throws -> Bool { try ruleset.tableExists(KernelLayout.tableName) }

  /// Removes the daemon's table, and with it every mapping.
  func removeTable() throws {
    try ruleset.remove(table: KernelLayout.tableName)
  }

  /// Both halves of each mapping. `now`: for elements to add, the time their timeouts count
  /// from; nil for elements to delete.
  private static func elements(_ mappings: [Mapping], now: UInt64?) throws -> (inbound: [KernelElement], outbound: [KernelElement]) {
    var inbound: [KernelElement] = []
    var outbound: [KernelElement] = []
    for mapping in mappings {
      let timeout = now.map { mapping.expiry > $0 ? mapping.expiry - $0 : 1 }
      inbound.append(try Linearizer.element(KernelLayout.element(mapping), of: KernelLayout.map, timeout: timeout))
      outbound.append(try Linearizer.element(KernelLayout.outboundElement(mapping), of: KernelLayout.outboundMap,
                                             timeout: timeout))
    }
    return (inbound, outbound)
  }
}
