import Testing

@testable import NFTKernel

/// How an update is worked out from two images: which rules stay, where new ones go, which
/// elements change, and when there is no update to make. The loader tests check the same
/// against the kernel, where the result must list exactly as a full replace.
@Suite struct TableUpdateTests {
  static let chains = [KernelChain(name: "srcnat", hook: KernelChain.Hook(number: 4, priority: 100, type: "nat")),
                       KernelChain(name: "dstnat", hook: KernelChain.Hook(number: 0, priority: -100, type: "nat"))]

  static func rule(_ text: String, chain: String = "srcnat", handle: UInt64) -> TableImage.Rule {
    TableImage.Rule(chain: chain, content: TableImage.RuleContent(fingerprint: text, userdata: [], anonymousSets: []),
                    handle: handle)
  }

  /// A loaded chain of rules with handles 10, 11, …
  static func loaded(_ texts: [String], sets: KeyValuePairs<String, TableImage.SetContent> = [:]) -> TableImage {
    TableImage(chains: chains, objects: [], sets: sets.map { ($0.key, $0.value) },
               rules: texts.enumerated().map { rule($1, handle: UInt64(10 + $0)) })
  }

  /// A compiled chain of rules, each with its index for a handle.
  static func compiled(_ texts: [String], sets: KeyValuePairs<String, TableImage.SetContent> = [:]) -> TableImage {
    TableImage(chains: chains, objects: [], sets: sets.map { ($0.key, $0.value) }, rules: texts.enumerated().map { rule($1, handle: UInt64($0)) })
  }

  @Test func theSameTableNeedsNothing() throws {
    let update = try #require(TableUpdate.between(loaded: Self.loaded(["a", "b", "c"]), compiled: Self.compiled(["a", "b", "c"])))
    #expect(update.isEmpty)
    #expect(update.keptRules == 3)
  }

  @Test func anEditedRuleIsReplacedInItsPlace() throws {
    let update = try #require(TableUpdate.between(loaded: Self.loaded(["a", "b", "c"]), compiled: Self.compiled(["a", "B", "c"])))
    #expect(update.removedRules == [TableUpdate.RemovedRule(chain: "srcnat", handle: 11)])
    #expect(update.addedRules == [TableUpdate.AddedRule(index: 1, placement: .before(handle: 12))])
    #expect(update.keptRules == 2)
  }

  @Test func newRulesGoBeforeTheRuleThatFollowsThemOrAtTheEnd() throws {
    let update = try #require(TableUpdate.between(loaded: Self.loaded(["b", "d"]),
                                                  compiled: Self.compiled(["a", "b", "c", "d", "e", "f"])))
    #expect(update.removedRules.isEmpty)
    #expect(update.addedRules == [
      TableUpdate.AddedRule(index: 0, placement: .before(handle: 10)),
      TableUpdate.AddedRule(index: 2, placement: .before(handle: 11)),
      TableUpdate.AddedRule(index: 4, placement: .atEnd),
      TableUpdate.AddedRule(index: 5, placement: .atEnd),
    ])
  }

  /// A rule moved to the top leaves its old place and goes in before the first rule that stays.
  @Test func aMovedRuleIsTakenOutAndPutBack() throws {
    let update = try #require(TableUpdate.between(loaded: Self.loaded(["a", "b", "c"]), compiled: Self.compiled(["c", "a", "b"])))
    #expect(update.keptRules == 2)
    #expect(update.removedRules == [TableUpdate.RemovedRule(chain: "srcnat", handle: 12)])
    #expect(update.addedRules == [TableUpdate.AddedRule(index: 0, placement: .before(handle: 10))])
  }

  /// A rule that only moved to another line (its comment changed) is deleted and inserted
  /// anew, and the new one takes over the old one's counts; a rule that changed starts at zero.
  @Test func aRuleUnderAnotherCommentTakesOverTheCounts() throws {
    var loaded = Self.loaded(["a", "b"])
    loaded.rules[0].counters = TableImage.Counters(packets: 7, bytes: 700)
    loaded.rules[1].counters = TableImage.Counters(packets: 3, bytes: 300)
    var compiled = Self.compiled(["a", "B"])
    compiled.rules[0].content.userdata = Array("line 2".utf8)
    let update = try #require(TableUpdate.between(loaded: loaded, compiled: compiled))
    #expect(update.keptRules == 0)
    #expect(update.addedRules == [
      TableUpdate.AddedRule(index: 0, placement: .atEnd, counters: TableImage.Counters(packets: 7, bytes: 700)),
      TableUpdate.AddedRule(index: 1, placement: .atEnd),
    ])
  }

  /// Equal rules in another chain are other rules.
  @Test func rulesAreMatchedWithinTheirChain() throws {
    var compiled = Self.compiled(["a"])
    compiled.rules[0].chain = "dstnat"
    let update = try #require(TableUpdate.between(loaded: Self.loaded(["a"]), compiled: compiled))
    #expect(update.removedRules == [TableUpdate.RemovedRule(chain: "srcnat", handle: 10)])
    #expect(update.addedRules == [TableUpdate.AddedRule(index: 0, placement: .atEnd)])
  }

  static let mapDefinition = TableImage.SetDefinition(flags: [.map], keyType: 7, keyLength: 4, dataType: 7,
                                                      dataLength: 4, userdata: [], concatenationFieldLengths: [])

  static func map(_ pairs: [(UInt8, UInt8)]) -> TableImage.SetContent {
    TableImage.SetContent(definition: mapDefinition,
                          elements: pairs.map { KernelElement(key: [10, 0, 0, $0.0], data: [192, 0, 2, $0.1]) })
  }

  /// An element whose data changed is deleted by its key alone and added whole.
  @Test func elementsChangeOneByOne() throws {
    let update = try #require(TableUpdate.between(loaded: Self.loaded(["a"], sets: ["fold_1": Self.map([(1, 1), (2, 2)])]),
                                                  compiled: Self.compiled(["a"], sets: ["fold_1": Self.map([(1, 1), (2, 3)])])))
    #expect(update.keptRules == 1 && update.removedRules.isEmpty && update.addedRules.isEmpty)
    #expect(update.elementChanges == [TableUpdate.ElementChange(
      set: "fold_1", deleting: [KernelElement(key: [10, 0, 0, 2])],
      adding: [KernelElement(key: [10, 0, 0, 2], data: [192, 0, 2, 3])])])
    #expect(update.changedElements == 2)
  }

  /// Chains, objects and named sets come and go; the ones a rule uses come first (the writer
  /// sends added ones before rules and removed ones after).
  @Test func chainsObjectsAndSetsComeAndGo() throws {
    var compiled = Self.compiled(["a"], sets: ["fold_2": Self.map([(1, 1)])])
    compiled.chains.removeLast()
    compiled.chains.append(KernelChain(name: "rr_1_0", hook: nil))
    compiled.objects = [.conntrackHelper(name: "ftp", helper: "ftp", layer3: 2, layer4: 6)]
    var loaded = Self.loaded(["a"], sets: ["fold_1": Self.map([])])
    loaded.objects = [.conntrackHelper(name: "irc", helper: "irc", layer3: 2, layer4: 6)]
    let update = try #require(TableUpdate.between(loaded: loaded, compiled: compiled))
    #expect(update.addedChains == [KernelChain(name: "rr_1_0", hook: nil)])
    #expect(update.removedChains == ["dstnat"])
    #expect(update.addedObjects == compiled.objects && update.removedObjects == loaded.objects)
    #expect(update.addedSets == ["fold_2"] && update.removedSets == ["fold_1"])
    #expect(update.elementChanges.isEmpty)
  }

  /// A full load lists chains, objects and sets in the compiled order; an update adds new ones
  /// after the old, so it is made only where that is the same order.
  @Test func newThingsMustComeLastInTheCompiledOrder() {
    let first = Self.map([(1, 1)]), second = Self.map([(2, 2)])
    #expect(TableUpdate.between(loaded: Self.loaded(["a"], sets: ["fold_2": second]),
                                compiled: Self.compiled(["a"], sets: ["fold_1": first, "fold_2": second])) == nil)
    #expect(TableUpdate.between(loaded: Self.loaded(["a"], sets: ["fold_1": first]),
                                compiled: Self.compiled(["a"], sets: ["fold_1": first, "fold_2": second])) != nil)
    var chainFirst = Self.compiled(["a"])
    chainFirst.chains.insert(KernelChain(name: "rr_1_0", hook: nil), at: 0)
    #expect(TableUpdate.between(loaded: Self.loaded(["a"]), compiled: chainFirst) == nil)
  }

  /// One name, two things: no update, the table is replaced.
  @Test func aChainObjectOrSetThatChangesUnderItsNameNeedsAReplace() {
    var otherHook = Self.compiled(["a"])
    otherHook.chains[0].hook?.priority = 101
    #expect(TableUpdate.between(loaded: Self.loaded(["a"]), compiled: otherHook) == nil)

    var loadedHelper = Self.loaded(["a"])
    loadedHelper.objects = [.conntrackHelper(name: "h", helper: "ftp", layer3: 2, layer4: 6)]
    var otherHelper = Self.compiled(["a"])
    otherHelper.objects = [.conntrackHelper(name: "h", helper: "irc", layer3: 2, layer4: 6)]
    #expect(TableUpdate.between(loaded: loadedHelper, compiled: otherHelper) == nil)

    var wider = Self.map([])
    wider.definition.keyLength = 16
    #expect(TableUpdate.between(loaded: Self.loaded(["a"], sets: ["fold_1": Self.map([])]),
                                compiled: Self.compiled(["a"], sets: ["fold_1": wider])) == nil)
  }

  /// The kernel reports a verdict map's data length, which nft never sends.
  @Test func aVerdictMapsDataLengthIsNotCompared() {
    let sent = TableImage.SetDefinition(flags: [.map], keyType: 7, keyLength: 4, dataType: 0xffff_ff00, dataLength: 0,
                                        userdata: [], concatenationFieldLengths: [])
    let reported = TableImage.SetDefinition(flags: [.map], keyType: 7, keyLength: 4, dataType: 0xffff_ff00, dataLength: 16,
                                        userdata: [], concatenationFieldLengths: [])
    #expect(sent == reported)
  }

  /// Any alignment is a common subsequence; below the table's limit it is a longest one.
  @Test func alignmentsAreCommonSubsequencesAndLongestWhenSmall() {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<200 {
      let old = (0..<Int.random(in: 0...12, using: &generator)).map { _ in Int.random(in: 0...4, using: &generator) }
      let new = (0..<Int.random(in: 0...12, using: &generator)).map { _ in Int.random(in: 0...4, using: &generator) }
      let pairs = SequenceAlignment.commonPairs(old, new)
      #expect(Self.isCommonSubsequence(pairs, old, new), "\(old) \(new) \(pairs)")
      #expect(pairs.count == Self.longestCommonLength(old, new), "\(old) \(new) \(pairs)")
    }
  }

  /// Past the limit the greedy match still gives a valid alignment.
  @Test func largeAlignmentsStayValid() {
    let old = Array(0..<2500)
    let new = [2499] + Array(0..<2499).map { $0 % 7 == 0 ? -$0 - 1 : $0 }
    let pairs = SequenceAlignment.commonPairs(old, new)
    #expect(old.count * new.count > SequenceAlignment.tableLimit)
    #expect(Self.isCommonSubsequence(pairs, old, new))
    #expect(!pairs.isEmpty)
  }

  static func isCommonSubsequence(_ pairs: [(old: Int, new: Int)], _ old: [Int], _ new: [Int]) -> Bool {
    zip(pairs, pairs.dropFirst()).allSatisfy { $0.old < $1.old && $0.new < $1.new }
      && pairs.allSatisfy { old[$0.old] == new[$0.new] }
  }

  /// The length of a longest common subsequence, by the textbook recurrence.
  static func longestCommonLength(_ old: [Int], _ new: [Int]) -> Int {
    var table = [[Int]](repeating: [Int](repeating: 0, count: new.count + 1), count: old.count + 1)
    for row in 0..<old.count {
      for column in 0..<new.count {
        table[row + 1][column + 1] = old[row] == new[column]
          ? table[row][column] + 1 : max(table[row][column + 1], table[row + 1][column])
      }
    }
    return table[old.count][new.count]
  }
}
