import IPNatLoader
import IPNatNetlink
import NFTKernel
import NFTModel

/// A ruleset kept in memory, with the kernel's rules that matter to the loader: a generation
/// that every committed change raises and that a guarded change must match, transactions that
/// apply whole or not at all, a rule naming a missing chain refused with its origin, and
/// handles that identify loaded rules.
final class MemoryTransport: RulesetTransport {
  typealias Snapshot = (name: String, table: KernelTable?)

  private(set) var tables: [String: KernelTable] = [:]
  private(set) var currentGeneration: UInt32 = 1
  /// Changes made by "another program" just before the next guarded change.
  var interloper: (() -> Void)?
  private var handles: [String: [UInt64]] = [:]
  private var nextHandle: UInt64 = 1

  func generation() throws(NetlinkError) -> UInt32 { currentGeneration }

  func replace(with table: KernelTable, commit: KernelRuleset.Commit, generation: UInt32?) throws(NetlinkError) {
    try guardGeneration(generation)
    try refuseRulesOutsideChains(table)
    guard commit == .apply else { return }
    tables[table.name] = table
    handles[table.name] = table.rules.map { _ in takeHandle() }
    currentGeneration += 1
  }

  /// Updates where the chains stay the same: the rules whose expressions and origin did not
  /// change keep their handles, the others are replaced; nil where the chains differ.
  func update(to table: KernelTable, generation: UInt32) throws(NetlinkError) -> TableUpdate? {
    guard let loaded = tables[table.name], Set(loaded.chains) == Set(table.chains) else { return nil }
    try guardGeneration(generation)
    try refuseRulesOutsideChains(table)
    let oldHandles = handles[table.name] ?? []
    var available: [KernelRule: [UInt64]] = [:]
    for (rule, handle) in zip(loaded.rules, oldHandles).reversed() { available[rule, default: []].append(handle) }
    var update = TableUpdate()
    let newHandles = table.rules.map { rule -> UInt64 in
      if let handle = available[rule]?.popLast() {
        update.keptRules += 1
        return handle
      }
      return takeHandle()
    }
    tables[table.name] = table
    handles[table.name] = newHandles
    currentGeneration += 1
    return update
  }

  /// Only the element changes of named sets both tables have.
  func plannedUpdate(to table: KernelTable) throws(NetlinkError) -> TableUpdate? {
    guard let loaded = tables[table.name] else { return nil }
    var update = TableUpdate()
    for set in table.sets {
      guard let old = loaded.sets.first(where: { $0.name == set.name }) else { continue }
      let difference = ElementDifference(from: old.elements, to: set.elements)
      if !difference.deleting.isEmpty || !difference.adding.isEmpty {
        update.elementChanges.append(TableUpdate.ElementChange(set: set.name, deleting: difference.deleting,
                                                               adding: difference.adding))
      }
    }
    return update
  }

  func remove(table name: String, commit: KernelRuleset.Commit) throws(NetlinkError) {
    guard commit == .apply else { return }
    tables[name] = nil
    currentGeneration += 1
  }

  func snapshot(ofTable name: String) throws(NetlinkError) -> Snapshot { (name, tables[name]) }

  func restore(_ snapshot: Snapshot) throws(NetlinkError) {
    guard let table = snapshot.table else { return try remove(table: snapshot.name, commit: .apply) }
    try replace(with: table, commit: .apply, generation: nil)
  }

  func rules(ofTable name: String) throws(NetlinkError) -> [LoadedRule] {
    guard let table = tables[name] else { return [] }
    return zip(expectedRules(of: table), handles[name] ?? []).map { rule, handle in
      var loaded = rule
      loaded.handle = handle
      return loaded
    }
  }

  /// Packets never reach this table, so its dynamic sets stay empty.
  func rulesAndRememberedClients(ofTable name: String) throws(NetlinkError)
    -> (rules: [LoadedRule], remembered: [KernelRuleset.RememberedClients])
  {
    (try rules(ofTable: name), [])
  }

  func rulesAndImage(ofTable name: String) throws(NetlinkError) -> (rules: [LoadedRule], image: TableImage?) {
    (try rules(ofTable: name), tables[name].map(expectedImage))
  }

  func delete(_ rules: [LoadedRule], elements: [TableUpdate.ElementChange], fromTable name: String,
              generation: UInt32) throws(NetlinkError) {
    try guardGeneration(generation)
    guard var table = tables[name], var tableHandles = handles[name] else { throw .kernel(2, context: nil) }
    let doomed = Set(rules.map(\.handle))
    guard doomed.isSubset(of: tableHandles) else { throw .kernel(2, context: "no such rule") }
    let kept = tableHandles.indices.filter { !doomed.contains(tableHandles[$0]) }
    table.rules = kept.map { table.rules[$0] }
    for change in elements {
      guard let index = table.sets.firstIndex(where: { $0.name == change.set }) else { throw .kernel(2, context: "no such set") }
      let deleting = Set(change.deleting)
      let remaining = table.sets[index].elements.filter { !deleting.contains($0.identifyingPart) }
      guard remaining.count == table.sets[index].elements.count - deleting.count else {
        throw .kernel(2, context: "no such element")
      }
      table.sets[index].elements = remaining
    }
    tableHandles = kept.map { tableHandles[$0] }
    tables[name] = table
    handles[name] = tableHandles
    currentGeneration += 1
  }

  func expectedRules(of table: KernelTable) -> [LoadedRule] {
    table.rules.map { rule in
      LoadedRule(chain: rule.chain, identity: rule.origin.map(RuleIdentity.init),
                 fingerprint: rule.expressions.map { "\($0)" }.joined(separator: " "))
    }
  }

  func expectedImage(of table: KernelTable) -> TableImage { table.image }

  func deleteConnections(labelled label: UInt8) throws(NetlinkError) -> Int { 0 }
  func flushDynamicSets(ofTable name: String) throws(NetlinkError) -> Int { 0 }

  private func guardGeneration(_ generation: UInt32?) throws(NetlinkError) {
    if let interloper {
      self.interloper = nil
      interloper()
      currentGeneration += 1
    }
    if let generation, generation != currentGeneration { throw .concurrentChange }
  }

  /// A rule naming a missing chain is refused, with its origin.
  private func refuseRulesOutsideChains(_ table: KernelTable) throws(NetlinkError) {
    let chains = Set(table.chains.map(\.name))
    let refused = table.rules.filter { !chains.contains($0.chain) }
    if !refused.isEmpty {
      throw .rejected(refused.map { rule in
        NetlinkError.Rejection(errorNumber: 2, origin: rule.origin, subject: "a rule in chain \(rule.chain)")
      })
    }
  }

  private func takeHandle() -> UInt64 {
    defer { nextHandle += 1 }
    return nextHandle
  }
}

/// A confirmation window whose answer the test decides.
final class ScriptedWindow: ConfirmationWindow {
  let confirms: Bool
  private(set) var opened = false
  private(set) var withdrawn = false
  private(set) var waitedSeconds: Int?

  init(confirms: Bool) { self.confirms = confirms }

  func open() throws { opened = true }
  func wait(seconds: Int) -> Bool {
    waitedSeconds = seconds
    return confirms
  }
  func withdraw() { withdrawn = true }
}
