import IPNatDiagnostics
import IPNatNetlink
import NFTKernel
import NFTModel

/// The kernel half of the pipeline: a compiled table goes into the kernel, or is checked
/// there, or waits for confirmation and goes back; a file's rules come out again (`-r`); what
/// a file would change is compared with what is loaded (`diff`). Every change is one
/// transaction, guarded by the ruleset's generation, so a concurrent change makes it fail
/// whole rather than apply on top of something else.
public struct Loader<Transport: RulesetTransport> {
  public let transport: Transport

  public init(_ transport: Transport) {
    self.transport = transport
  }

  /// The kernel's form of a compiled table. The lowering only builds what the linearizer can
  /// encode, so a failure here is a bug in ipnat.
  public static func linearize(_ table: consuming Table) throws(LinearizationError) -> KernelTable {
    try Linearizer.linearize(consume table)
  }

  /// How a table goes in.
  public enum Method: Sendable {
    /// Send only what differs from the loaded table; replace the table where a chain, object
    /// or named set keeps its name but changes.
    case update
    /// Replace the table whole (`load --full`): every counter starts again at zero.
    case replace
  }

  /// How a load went.
  public enum Outcome: Sendable, Equatable {
    case updated(TableUpdate)
    case replaced
    case checked
  }

  /// Loads the table (`load`), or lets the kernel check all of it and discards it
  /// (`load --check`).
  @discardableResult
  public func load(_ table: KernelTable, commit: KernelRuleset.Commit = .apply, method: Method = .update)
    throws(NetlinkError) -> Outcome
  {
    try load(table, commit: commit, method: method, generation: try transport.generation())
  }

  /// Loads the table unless the ruleset changed since `generation`.
  private func load(_ table: KernelTable, commit: KernelRuleset.Commit = .apply, method: Method, generation: UInt32)
    throws(NetlinkError) -> Outcome
  {
    if commit == .apply, method == .update, let update = try transport.update(to: table, generation: generation) {
      return .updated(update)
    }
    try transport.replace(with: table, commit: commit, generation: generation)
    return commit == .apply ? .replaced : .checked
  }

  /// `load --confirm`: loads `table`, then waits in `window` for `ipnat confirm`. Unless it
  /// comes, the table as it was before is put back. `loaded` runs once the new rules are in.
  public func load(_ table: KernelTable, awaitingConfirmationIn window: some ConfirmationWindow, seconds: Int,
                   method: Method = .update, loaded: () -> Void = {}) throws -> ConfirmationOutcome {
    // The snapshot is what the load replaces: a change after it makes the load fail.
    let generation = try transport.generation()
    let previous = try transport.snapshot(ofTable: table.name)
    try window.open()
    do {
      _ = try load(table, method: method, generation: generation)
    } catch {
      window.withdraw()  // Nothing changed: nothing to confirm.
      throw error
    }
    loaded()
    if window.wait(seconds: seconds) { return .confirmed }
    try transport.restore(previous)
    return .rolledBack
  }

  /// What `-r` took out.
  public struct Removal: Sendable, Equatable {
    /// nftables rules.
    public var rules: Int
    /// Elements of folds (a rule for TCP and UDP has one for each).
    public var mapElements: Int

    public init(rules: Int, mapElements: Int) { (self.rules, self.mapElements) = (rules, mapElements) }
  }

  /// ipnat(8)'s `-r -f FILE`: deletes, in one transaction, the loaded rules that came from one
  /// of the compiled table's ipnat.conf rules (by canonical text, wherever the rule stood), and
  /// the elements of folds that stood for one (``TableImage/foldedElements(of:)``).
  /// `compiled`: the file lowered without folding, so that every rule has its text;
  /// `folded`: the file lowered folding every rule that folds. Named maps those rules used, and
  /// a fold's rule, stay until the next load.
  @discardableResult
  public func removeRules(of compiled: KernelTable, foldedAs folded: KernelTable? = nil,
                          fromTable name: String) throws(NetlinkError) -> Removal {
    let texts = Set(transport.expectedRules(of: compiled).compactMap { $0.identity?.text })
    let generation = try transport.generation()
    let (loaded, image) = try transport.rulesAndImage(ofTable: name)
    let doomed = loaded.filter { rule in rule.identity.map { texts.contains($0.text) } ?? false }
    let elements = folded.flatMap { folded in image?.foldedElements(of: transport.expectedImage(of: folded)) } ?? []
    let removal = Removal(rules: doomed.count, mapElements: elements.reduce(0) { $0 + $1.deleting.count })
    if removal != Removal(rules: 0, mapElements: 0) {
      try transport.delete(doomed, elements: elements, fromTable: name, generation: generation)
    }
    return removal
  }

  /// `diff`: what loading the compiled table would remove, add and change, rule by rule, and
  /// in the elements of named maps (where folded rules live).
  public func difference(loading compiled: KernelTable, into name: String) throws(NetlinkError)
    -> IPNatRuleSummary.Difference
  {
    var loadedInto = compiled  // Compared with the table the rules were read from.
    loadedInto.name = name
    let (loaded, update) = try transport.rulesAndPlannedUpdate(to: loadedInto)
    var difference = IPNatRuleSummary.difference(loaded: loaded, compiled: transport.expectedRules(of: compiled))
    // The texts of long rules follow their lines; like a moved rule, a moved text is no change.
    let elementChanges = (update?.elementChanges ?? []).filter { $0.set != RuleText.setName }
    difference.maps = elementChanges.map { change in
      IPNatRuleSummary.MapChange(name: change.set, removed: change.deleting.count, added: change.adding.count)
    }
    return difference
  }

  /// ipnat(8)'s `-F`: deletes the conntrack entries of the connections ipnat's rules translated
  /// (they carry its label); answers how many. The clients that sticky round-robin targets of
  /// table `name` remember go too, as IPFilter's hostmap entries go with their sessions.
  public func flushTranslations(ofTable name: String) throws(NetlinkError) -> Int {
    let count = try transport.deleteConnections(labelled: TranslationLabel.bit)
    _ = try transport.flushDynamicSets(ofTable: name)
    return count
  }

  /// `list`: the loaded rules, one summary per ipnat.conf rule, and the nftables rules behind them.
  public func listing(ofTable name: String) throws(NetlinkError) -> Listing {
    let (rules, remembered) = try transport.rulesAndRememberedClients(ofTable: name)
    return Listing(rules: rules, remembered: remembered)
  }
}

extension Loader.Outcome {
  /// One line for `load --verbose`.
  public var summary: String {
    switch self {
    case .checked: return "checked: the kernel accepts the whole table; nothing changed"
    case .replaced: return "replaced the whole table"
    case .updated(let update) where update.isEmpty: return "no changes: the loaded table is already this one"
    case .updated(let update):
      let carried = update.addedRules.filter { $0.counters != nil }.count
      return "updated: \(update.keptRules) nftables rules kept, \(update.removedRules.count) removed, "
        + "\(update.addedRules.count) added" + (carried == 0 ? "" : " (\(carried) keeping the counts of a removed rule)")
        + "; \(update.changedElements) map elements deleted or added"
        + (update.setsComparedFromRecord == 0 ? "" : "; \(update.setsComparedFromRecord) maps compared as last loaded, not read back")
        + (update.linesCompiledAlone == 0 ? ""
          : update.linesCompiledAlone == 1 ? "; only the changed line compiled"
          : "; only the \(update.linesCompiledAlone) changed lines compiled")
    }
  }
}

/// How a `load --confirm` ended.
public enum ConfirmationOutcome: Sendable, Equatable {
  case confirmed
  case rolledBack
}

extension NetlinkError {
  /// The kernel's refusals of single rules as diagnostics at the rules' places, rendered like
  /// every other error; nil for failures that belong to no rule. A refusal whose rule has no
  /// place (a chain, a set) is reported without one.
  public var diagnostics: [Diagnostic]? {
    guard case .rejected(let rejections) = self else { return nil }
    return rejections.map { rejection in
      Diagnostic(KernelDiagnostics.rejected,
                 "the kernel refused \(rejection.subject): \(NetlinkError.message(rejection.errorNumber))",
                 at: rejection.origin?.range,
                 notes: [Note("nothing was changed")])
    }
  }
}
