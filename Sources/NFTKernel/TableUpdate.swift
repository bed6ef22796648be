/// What loading a compiled table changes in the loaded one, as the few messages that make the
/// difference: chains, objects and named sets created or deleted, rules deleted by handle,
/// rules inserted where they belong, elements deleted from and added to named sets. A rule
/// that stays keeps its handle, its place and its counters.
///
/// Tables that differ in a chain, object or named set of the same name (another hook, another
/// helper, another key type), or whose new chains, objects or sets would not come last in the
/// order the kernel lists them, get no update: the loader replaces the table whole instead, as
/// it always did.
public struct TableUpdate: Sendable, Equatable {
  public struct RemovedRule: Sendable, Equatable {
    public var chain: String
    public var handle: UInt64
  }

  public struct AddedRule: Sendable, Equatable {
    /// The rule's index in the compiled ``KernelTable/rules``.
    public var index: Int
    public var placement: Placement
    /// The counts of the removed rule it takes over, one that did the same under another
    /// comment; nil for a rule that starts from zero.
    public var counters: TableImage.Counters? = nil
  }

  /// Where an added rule goes: just before a rule that stays, or at the end of its chain.
  public enum Placement: Sendable, Equatable {
    case before(handle: UInt64)
    case atEnd
  }

  public struct ElementChange: Sendable, Equatable {
    public var set: String
    /// Elements as the kernel finds them to delete: key, last key and interval flag.
    public var deleting: [KernelElement]
    public var adding: [KernelElement]

    public init(set: String, deleting: [KernelElement], adding: [KernelElement]) {
      (self.set, self.deleting, self.adding) = (set, deleting, adding)
    }
  }

  /// What the compiled table has and the loaded one lacks, created first.
  public var addedChains: [KernelChain] = []
  public var addedObjects: [KernelObject] = []
  /// Names of the compiled table's named sets, created with their elements.
  public var addedSets: [String] = []
  public var removedRules: [RemovedRule] = []
  /// In the order they are sent: within a chain, in the compiled order.
  public var addedRules: [AddedRule] = []
  public var elementChanges: [ElementChange] = []
  /// What the loaded table has and the compiled one lacks, deleted last, once the rules that
  /// used them are gone.
  public var removedSets: [String] = []
  public var removedObjects: [KernelObject] = []
  public var removedChains: [String] = []
  /// The rules that stay as they are.
  public var keptRules = 0
  /// How many named sets were compared by their elements as ipnat's last load sent them
  /// (``LoadRecord``), not as read back from the kernel.
  public var setsComparedFromRecord = 0
  /// How many changed lines were compiled alone, for an update worked out from them and the
  /// load record (`LoadRecord.patching`); 0 when the whole file was compiled.
  public var linesCompiledAlone = 0

  public init() {}

  public var isEmpty: Bool {
    removedRules.isEmpty && addedRules.isEmpty && elementChanges.isEmpty && addedChains.isEmpty
      && addedObjects.isEmpty && addedSets.isEmpty && removedSets.isEmpty && removedObjects.isEmpty
      && removedChains.isEmpty
  }

  public var changedElements: Int { elementChanges.reduce(0) { $0 + $1.deleting.count + $1.adding.count } }

  /// The update that turns `loaded` into `compiled`, or nil when a chain, object or named set
  /// of one name differs between them, or a new one would be listed out of the compiled order.
  public static func between(loaded: TableImage, compiled: TableImage) -> TableUpdate? {
    var update = TableUpdate()
    guard let chains = Changes(loaded.chains, compiled.chains, name: \.name),
      let objects = Changes(loaded.objects, compiled.objects, name: \.name),
      keepsOrder(loaded.chains.map(\.name), compiled.chains.map(\.name)),
      keepsOrder(loaded.objects.map(\.name), compiled.objects.map(\.name)),
      keepsOrder(loaded.setNames, compiled.setNames)
    else { return nil }
    (update.addedChains, update.removedChains) = (chains.added, chains.removed.map(\.name))
    (update.addedObjects, update.removedObjects) = (objects.added, objects.removed)
    for name in compiled.setNames {
      guard let old = loaded.sets[name] else {
        update.addedSets.append(name)
        continue
      }
      let new = compiled.sets[name]!
      guard old.definition == new.definition else { return nil }
      let difference = ElementDifference(from: old.elements, to: new.elements)
      if !difference.deleting.isEmpty || !difference.adding.isEmpty {
        update.elementChanges.append(ElementChange(set: name, deleting: difference.deleting.map(\.identifyingPart),
                                                   adding: difference.adding))
      }
    }
    update.removedSets = loaded.setNames.filter { compiled.sets[$0] == nil }
    let loadedChains = rulesByChain(loaded.rules), compiledChains = rulesByChain(compiled.rules)
    for chain in Set(loadedChains.keys).union(compiledChains.keys).sorted() {
      update.align(loadedChains[chain] ?? [], compiledChains[chain] ?? [], in: chain)
    }
    return update
  }

  /// Whether what stays, then what comes, makes the compiled order: the kernel lists chains,
  /// objects and sets in the order they were made, and an update must list as a full load does.
  private static func keepsOrder(_ loaded: [String], _ compiled: [String]) -> Bool {
    let loadedNames = Set(loaded), compiledNames = Set(compiled)
    return loaded.filter(compiledNames.contains) + compiled.filter { !loadedNames.contains($0) } == compiled
  }

  /// Named things (chains, objects) the compiled table adds and the loaded one loses; nil if
  /// one name stands for two different things.
  private struct Changes<Thing: Hashable> {
    var added: [Thing] = []
    var removed: [Thing] = []

    init?(_ loaded: [Thing], _ compiled: [Thing], name: (Thing) -> String) {
      let loadedByName = Dictionary(loaded.map { (name($0), $0) }, uniquingKeysWith: { first, _ in first })
      let compiledNames = Set(compiled.map(name))
      for thing in compiled {
        guard let old = loadedByName[name(thing)] else {
          added.append(thing)
          continue
        }
        guard old == thing else { return nil }
      }
      removed = loaded.filter { !compiledNames.contains(name($0)) }
    }
  }

  private static func rulesByChain(_ rules: [TableImage.Rule]) -> [String: [TableImage.Rule]] {
    Dictionary(grouping: rules, by: \.chain)
  }

  /// Keeps the longest run of rules the two chains share in order, and deletes or inserts the
  /// rest around them. An inserted rule that does what a deleted one did, under another comment
  /// (it moved to another line, or its fold gained or lost a member), takes over its counts.
  private mutating func align(_ old: [TableImage.Rule], _ new: [TableImage.Rule], in chain: String) {
    let kept = SequenceAlignment.commonPairs(old.map(\.content), new.map(\.content))
    let keptOld = Set(kept.map(\.old))
    keptRules += kept.count
    var countsByBehaviour: [TableImage.RuleContent: [TableImage.Counters]] = [:]
    for (index, rule) in old.enumerated().reversed() where !keptOld.contains(index) {
      countsByBehaviour[rule.content.behaviour, default: []].append(rule.counters)
    }
    for (index, rule) in old.enumerated() where !keptOld.contains(index) {
      removedRules.append(RemovedRule(chain: chain, handle: rule.handle))
    }
    // Each run of new rules goes before the kept rule that follows it, in order.
    var pairIndex = 0
    for (index, rule) in new.enumerated() {
      while pairIndex < kept.count && kept[pairIndex].new < index { pairIndex += 1 }
      if pairIndex < kept.count && kept[pairIndex].new == index { continue }
      let placement: Placement = pairIndex < kept.count ? .before(handle: old[kept[pairIndex].old].handle) : .atEnd
      let counters = countsByBehaviour[rule.content.behaviour]?.popLast()
      addedRules.append(AddedRule(index: Int(rule.handle), placement: placement,
                                  counters: counters == TableImage.Counters() ? nil : counters))
    }
  }
}

extension KernelElement {
  /// What the kernel needs to find the element to delete it.
  public var identifyingPart: KernelElement {
    KernelElement(key: key, keyEnd: keyEnd, isIntervalEnd: isIntervalEnd)
  }
}

/// A common subsequence of two sequences, as pairs of indices in increasing order.
enum SequenceAlignment {
  /// Beyond this many cells the table of a longest common subsequence costs too much, and a
  /// greedy match in order is taken instead: still a common subsequence, not always the longest.
  static let tableLimit = 4_000_000

  static func commonPairs<Element: Hashable>(_ old: [Element], _ new: [Element]) -> [(old: Int, new: Int)] {
    var prefix = 0
    while prefix < old.count && prefix < new.count && old[prefix] == new[prefix] { prefix += 1 }
    var suffix = 0
    while suffix < old.count - prefix && suffix < new.count - prefix
      && old[old.count - 1 - suffix] == new[new.count - 1 - suffix]
    {
      suffix += 1
    }
    let oldMiddle = prefix..<(old.count - suffix), newMiddle = prefix..<(new.count - suffix)
    var pairs = (0..<prefix).map { (old: $0, new: $0) }
    if !oldMiddle.isEmpty && !newMiddle.isEmpty {
      pairs += oldMiddle.count * newMiddle.count <= tableLimit
        ? longestCommon(old, oldMiddle, new, newMiddle) : greedyCommon(old, oldMiddle, new, newMiddle)
    }
    pairs += (0..<suffix).map { (old: old.count - suffix + $0, new: new.count - suffix + $0) }
    return pairs
  }

  /// The classic table of a longest common subsequence, walked back from its end.
  private static func longestCommon<Element: Hashable>(_ old: [Element], _ oldRange: Range<Int>,
                                                       _ new: [Element], _ newRange: Range<Int>)
    -> [(old: Int, new: Int)]
  {
    let rows = oldRange.count + 1, columns = newRange.count + 1
    var lengths = [Int32](repeating: 0, count: rows * columns)
    for row in stride(from: rows - 2, through: 0, by: -1) {
      for column in stride(from: columns - 2, through: 0, by: -1) {
        lengths[row * columns + column] = old[oldRange.lowerBound + row] == new[newRange.lowerBound + column]
          ? lengths[(row + 1) * columns + column + 1] + 1
          : max(lengths[(row + 1) * columns + column], lengths[row * columns + column + 1])
      }
    }
    var pairs: [(old: Int, new: Int)] = []
    var (row, column) = (0, 0)
    while row < rows - 1 && column < columns - 1 {
      if old[oldRange.lowerBound + row] == new[newRange.lowerBound + column] {
        pairs.append((oldRange.lowerBound + row, newRange.lowerBound + column))
        (row, column) = (row + 1, column + 1)
      } else if lengths[(row + 1) * columns + column] >= lengths[row * columns + column + 1] {
        row += 1
      } else {
        column += 1
      }
    }
    return pairs
  }

  /// Each new element matched with the first equal old one after the last match.
  private static func greedyCommon<Element: Hashable>(_ old: [Element], _ oldRange: Range<Int>,
                                                      _ new: [Element], _ newRange: Range<Int>)
    -> [(old: Int, new: Int)]
  {
    var positions: [Element: [Int]] = [:]
    for index in oldRange.reversed() { positions[old[index], default: []].append(index) }
    var pairs: [(old: Int, new: Int)] = []
    var last = oldRange.lowerBound - 1
    for index in newRange {
      guard var candidates = positions[new[index]] else { continue }
      while let first = candidates.last, first <= last { candidates.removeLast() }
      positions[new[index]] = candidates
      guard let match = candidates.popLast() else { continue }
      positions[new[index]] = candidates
      pairs.append((match, index))
      last = match
    }
    return pairs
  }
}
