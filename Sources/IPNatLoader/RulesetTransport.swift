import IPNatNetlink
import NFTKernel

/// What the loader needs of the kernel's ruleset: one table, replaced, restored, read back or
/// thinned out in single transactions. ``KernelRuleset`` is the real one (netlink); the tests
/// use one in memory, and ``FaultInjectingTransport`` wraps either to make the kernel refuse.
public protocol RulesetTransport {
  /// The table exactly as it was, to put back (`load --confirm`).
  associatedtype Snapshot

  /// The ruleset's generation: it goes up by one with every committed transaction.
  func generation() throws(NetlinkError) -> UInt32
  /// Replaces the table in one transaction, refused if the ruleset changed since `generation`.
  func replace(with table: KernelTable, commit: KernelRuleset.Commit, generation: UInt32?) throws(NetlinkError)
  /// Loads the table by sending only its difference from the loaded one, in one transaction
  /// refused if the ruleset changed since `generation`. Answers the update made, or nil,
  /// changing nothing, when a chain, object or named set of one name differs.
  func update(to table: KernelTable, generation: UInt32) throws(NetlinkError) -> TableUpdate?
  /// The update ``update(to:generation:)`` would make, not made.
  func plannedUpdate(to table: KernelTable) throws(NetlinkError) -> TableUpdate?
  /// Removes the table, and nothing else; a missing table is not an error.
  func remove(table name: String, commit: KernelRuleset.Commit) throws(NetlinkError)
  func snapshot(ofTable name: String) throws(NetlinkError) -> Snapshot
  func restore(_ snapshot: Snapshot) throws(NetlinkError)
  /// The table's rules in chain order, with their identities and counters; empty when the table
  /// does not exist.
  func rules(ofTable name: String) throws(NetlinkError) -> [LoadedRule]
  /// ``rules(ofTable:)`` of `table`'s name and ``plannedUpdate(to:)``, from one read of the table.
  func rulesAndPlannedUpdate(to table: KernelTable) throws(NetlinkError) -> (rules: [LoadedRule], update: TableUpdate?)
  /// ``rules(ofTable:)``, and what the table's dynamic sets hold, from one read of the table.
  func rulesAndRememberedClients(ofTable name: String) throws(NetlinkError)
    -> (rules: [LoadedRule], remembered: [KernelRuleset.RememberedClients])
  /// ``rules(ofTable:)``, and the table's image (nil when there is no table, or one ipnat did
  /// not make), from one read of the table.
  func rulesAndImage(ofTable name: String) throws(NetlinkError) -> (rules: [LoadedRule], image: TableImage?)
  /// Deletes loaded rules, and elements of named maps, in one transaction, refused if the
  /// ruleset changed since `generation`.
  func delete(_ rules: [LoadedRule], elements: [TableUpdate.ElementChange], fromTable name: String,
              generation: UInt32) throws(NetlinkError)
  /// The rules of a compiled table as ``rules(ofTable:)`` will read them back once loaded.
  func expectedRules(of table: KernelTable) -> [LoadedRule]
  /// The image a compiled table will have once loaded.
  func expectedImage(of table: KernelTable) -> TableImage
  /// Deletes the conntrack entries that carry `label`; answers how many.
  func deleteConnections(labelled label: UInt8) throws(NetlinkError) -> Int
  /// Empties the table's dynamic sets in one transaction; answers how many.
  func flushDynamicSets(ofTable name: String) throws(NetlinkError) -> Int
}

extension KernelRuleset: RulesetTransport {
  public func expectedRules(of table: KernelTable) -> [LoadedRule] { table.expectedRules }
  public func expectedImage(of table: KernelTable) -> TableImage { table.image }
}

extension RulesetTransport {
  /// Two reads, for a transport that has no cheaper way.
  public func rulesAndPlannedUpdate(to table: KernelTable) throws(NetlinkError) -> (rules: [LoadedRule], update: TableUpdate?) {
    (try rules(ofTable: table.name), try plannedUpdate(to: table))
  }
}
