import Glibc
import IPNatNetlink
import NATPMP
import NFTKernel

/// Mappings as elements of the daemon's nftables map: each change is one netlink
/// transaction, and each element carries its own timeout, so mappings expire on time even if
/// the daemon has died.
final class KernelMappings: MappingStore {
  private let ruleset: KernelRuleset

  init(ruleset: KernelRuleset) { self.ruleset = ruleset }

  func install(_ mappings: [Mapping], now: UInt64) throws {
    try ruleset.changeElements(ofSet: KernelLayout.mapName, inTable: KernelLayout.tableName,
                               adding: try mappings.map { try Self.element($0, now: now) })
  }

  func remove(_ mappings: [Mapping]) throws {
    let elements = try mappings.map { try Self.element($0, now: nil) }
    do {
      try delete(elements)
    } catch where Self.isMissingElement(error) && elements.count > 1 {
      // The kernel dropped some at their timeout a moment before the daemon forgot them, and
      // one missing element fails the whole transaction: delete the others one by one.
      for element in elements {
        do {
          try delete([element])
        } catch where Self.isMissingElement(error) {
          continue
        }
      }
    } catch where Self.isMissingElement(error) {
      return
    }
  }

  private func delete(_ elements: [KernelElement]) throws {
    try ruleset.changeElements(ofSet: KernelLayout.mapName, inTable: KernelLayout.tableName, deleting: elements)
  }

  private static func isMissingElement(_ error: any Error) -> Bool {
    guard case .rejected(let rejections) = error as? NetlinkError else { return false }
    return rejections.allSatisfy { $0.errorNumber == ENOENT }
  }

  func rebuild(externalAddress: UInt32?, mappings: [Mapping], now: UInt64) throws {
    var table = try Linearizer.linearize(KernelLayout.table(externalAddress: externalAddress))
    let index = table.sets.firstIndex { $0.name == KernelLayout.mapName }!
    table.sets[index].elements = try mappings.map { try Self.element($0, now: now) }
    try ruleset.replace(with: table)
  }

  /// Removes the daemon's table, and with it every mapping.
  func removeTable() throws {
    try ruleset.remove(table: KernelLayout.tableName)
  }

  /// `now`: for an element to add, the time its timeout counts from.
  private static func element(_ mapping: Mapping, now: UInt64?) throws -> KernelElement {
    let timeout = now.map { mapping.expiry > $0 ? mapping.expiry - $0 : 1 }
    return try Linearizer.element(KernelLayout.element(mapping), of: KernelLayout.map, timeout: timeout)
  }
}
