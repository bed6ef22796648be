import IPNatNetlink
import NFTKernel

/// A transport that makes the kernel refuse what the loader sends, for the loader's tests: the
/// executable wraps the real transport in it when `IPNAT_TEST_FAULT` asks, at the one place it
/// makes the transport, so no production path tests for a fault.
public struct FaultInjectingTransport<Base: RulesetTransport>: RulesetTransport {
  public enum Fault: String, Sendable, CaseIterable {
    /// The batch's last rule names a chain that does not exist, so the kernel refuses the whole
    /// transaction at that rule.
    case missingChain = "missing-chain"
    /// Every rule names a missing chain: more error replies than a small receive buffer holds.
    case missingChains = "missing-chains"
  }

  public let base: Base
  public let faults: Set<Fault>

  public init(_ base: Base, faults: Set<Fault>) {
    self.base = base
    self.faults = faults
  }

  static var missingChainName: String { "ipnat_test_missing_chain" }

  func faulty(_ table: KernelTable) -> KernelTable {
    var table = table
    if faults.contains(.missingChain), !table.rules.isEmpty {
      table.rules[table.rules.count - 1].chain = Self.missingChainName
    }
    if faults.contains(.missingChains) {
      for index in table.rules.indices { table.rules[index].chain = Self.missingChainName }
    }
    return table
  }

  public func replace(with table: KernelTable, commit: KernelRuleset.Commit, generation: UInt32?) throws(NetlinkError) {
    try base.replace(with: faulty(table), commit: commit, generation: generation)
  }

  public func update(to table: KernelTable, generation: UInt32) throws(NetlinkError) -> TableUpdate? {
    try base.update(to: faulty(table), generation: generation)
  }

  public func plannedUpdate(to table: KernelTable) throws(NetlinkError) -> TableUpdate? {
    try base.plannedUpdate(to: faulty(table))
  }

  public func rulesAndPlannedUpdate(to table: KernelTable) throws(NetlinkError) -> (rules: [LoadedRule], update: TableUpdate?) {
    try base.rulesAndPlannedUpdate(to: faulty(table))
  }

  public func generation() throws(NetlinkError) -> UInt32 { try base.generation() }
  public func remove(table name: String, commit: KernelRuleset.Commit) throws(NetlinkError) {
    try base.remove(table: name, commit: commit)
  }
  public func snapshot(ofTable name: String) throws(NetlinkError) -> Base.Snapshot { try base.snapshot(ofTable: name) }
  public func restore(_ snapshot: Base.Snapshot) throws(NetlinkError) { try base.restore(snapshot) }
  public func rules(ofTable name: String) throws(NetlinkError) -> [LoadedRule] { try base.rules(ofTable: name) }
  public func rulesAndRememberedClients(ofTable name: String) throws(NetlinkError)
    -> (rules: [LoadedRule], remembered: [KernelRuleset.RememberedClients])
  {
    try base.rulesAndRememberedClients(ofTable: name)
  }
  public func rulesAndImage(ofTable name: String) throws(NetlinkError) -> (rules: [LoadedRule], image: TableImage?) {
    try base.rulesAndImage(ofTable: name)
  }
  public func delete(_ rules: [LoadedRule], elements: [TableUpdate.ElementChange], fromTable name: String,
                     generation: UInt32) throws(NetlinkError) {
    try base.delete(rules, elements: elements, fromTable: name, generation: generation)
  }
  public func expectedRules(of table: KernelTable) -> [LoadedRule] { base.expectedRules(of: table) }
  public func expectedImage(of table: KernelTable) -> TableImage { base.expectedImage(of: table) }
  public func deleteConnections(labelled label: UInt8) throws(NetlinkError) -> Int {
    try base.deleteConnections(labelled: label)
  }

  public func flushDynamicSets(ofTable name: String) throws(NetlinkError) -> Int {
    try base.flushDynamicSets(ofTable: name)
  }
}
