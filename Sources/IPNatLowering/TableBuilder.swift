import IPNatDiagnostics
import IPNatSemantics
import IPNatSyntax
import NFTModel

/// The NAT chain a rule belongs to; its raw value numbers the builder's list of each.
enum NATChain: Int {
  /// prerouting: rdr, inbound bimap, `no rdr`.
  case dstnat
  /// postrouting: map, map-block, outbound bimap, `no map`.
  case srcnat
}

/// A NAT-chain rule with IPFilter's search rank (``SearchRank``): the prefix length of the
/// address it is hashed by, then the place of its ipnat.conf rule.
struct RankedRule {
  var chain: NATChain
  var rank: SearchRank
  var entry: FoldEntry
}

/// Everything one ipnat.conf rule (or one round-robin group) becomes.
struct LoweredRule {
  var natRules: [RankedRule] = []
  var objects: [StatefulObject] = []
  var maps: [NamedMap] = []
  var chains: [Chain] = []
  var connectionAttributes: [NFTModel.Rule] = []
  var mssclamp: [NFTModel.Rule] = []
  /// Masquerade rules for NAT reflection, which must run before any map rule.
  var reflection: [NFTModel.Rule] = []
  /// The new sources of `rewrite in` connections, whose session IPFilter has already made, so
  /// no map rule may take them: at the head of srcnat.
  var rewrittenSources: [NFTModel.Rule] = []
  /// The new destinations of `rewrite out`, tried after every rdr rule (IPFilter looks for an
  /// inbound session first): at the end of dstnat.
  var lateDestinationRules: [NFTModel.Rule] = []
  var warnings: [Diagnostic] = []
}

/// A rule's canonical form as the key of the duplicate check, hashed once, with the stable hash
/// the load record keeps (``CompiledSource/textHash(_:)``): `String`'s own hashing cost more,
/// and every rule is looked up.
private struct CanonicalText: Hashable {
  let text: String
  let hash: UInt64

  init(_ text: String) {
    self.text = text
    hash = CompiledSource.textHash(text)
  }

  static func == (left: Self, right: Self) -> Bool { left.hash == right.hash && left.text == right.text }

  func hash(into hasher: inout Hasher) { hasher.combine(hash) }
}

/// Lowers rules one at a time and assembles the table. A rule that fails contributes only its
/// diagnostic; once any rule has failed, no table is produced.
struct TableBuilder {
  let file: SourceFile
  let options: LoweringOptions
  private var diagnostics: [Diagnostic] = []
  /// The NAT-chain rules of every group, per chain, in the order the groups were lowered: file
  /// order, but for groups lowered into a reserved place (``Place``), whose rules come last
  /// until ``inSearchOrder(_:sortingPlaces:)`` puts them in their place.
  private var natRules: [[RankedRule]] = [[], []]
  /// What groups made besides NAT-chain rules, in group order. Most groups make nothing else,
  /// and a large file holds one group per rule, so they are not kept.
  private var otherOutput: [LoweredRule] = []
  private var hasReservedPlaces = false
  /// Each canonical form seen so far, with where it was first written.
  private var firstRuleByText: [CanonicalText: SourceRange] = [:]
  /// With ``LoweringOptions/recordsSourceFacts``: the lines that hold one rule each, then the
  /// facts, once the table is made.
  private var lineOccupancy: LineOccupancy?
  private var sourceFacts: SourceFacts?

  /// The place of a group that comes later than its place in the file (a round-robin group,
  /// complete only at the end of the file), kept for it by ``reservePlace()``.
  struct Place {
    fileprivate let slot: Int
    fileprivate let diagnosticIndex: Int
  }

  /// The diagnostics of groups lowered into a reserved place, to be put at that place.
  private var placedDiagnostics: [(place: Place, diagnostics: [Diagnostic])] = []

  /// `expectedGroups`: about how many rule groups will come, so that the storage for them is
  /// made once (a 100,000-rule file otherwise rehashes its canonical forms some twenty times).
  init(file: SourceFile, options: LoweringOptions, expectedGroups: Int = 0, keepsOutput: Bool = true) {
    self.file = file
    self.options = options
    self.keepsOutput = keepsOutput
    interfaces = InterfaceNames(renames: options.interfaceMap)
    // Room that is never written to costs no memory: each chain may hold every rule.
    for chain in natRules.indices { natRules[chain].reserveCapacity(expectedGroups) }
    firstRuleByText.reserveCapacity(expectedGroups)
    if options.recordsSourceFacts { lineOccupancy = LineOccupancy(lineCount: file.lineCount) }
  }

  /// Whether the table is wanted, or only the diagnostics (``Lowering/diagnostics(of:in:options:)``):
  /// then nothing a rule is lowered to is kept.
  let keepsOutput: Bool
  /// The file's interface names, checked as its rules come.
  private let interfaces: InterfaceNames

  /// Lowers a group after those before it, or into the place reserved for it. `canonicalForm`:
  /// a single rule's, if it is printed already.
  mutating func lower(_ group: RuleGroup, at place: Place? = nil, printedAs canonicalForm: String? = nil) {
    let (lowered, groupDiagnostics) = lowerGroup(group, printedAs: canonicalForm)
    if keepsOutput, var output = lowered {
      for ranked in output.natRules { natRules[ranked.chain.rawValue].append(ranked) }
      output.natRules = []
      output.warnings = []
      if let place {
        otherOutput[place.slot] = output
      } else if !output.isEmpty {
        otherOutput.append(output)
      }
    }
    guard let place else { return diagnostics += groupDiagnostics }
    if !groupDiagnostics.isEmpty { placedDiagnostics.append((place, groupDiagnostics)) }
  }

  /// Keeps the place after the groups lowered so far for a group that will come later.
  mutating func reservePlace() -> Place {
    hasReservedPlaces = true
    if keepsOutput { otherOutput.append(LoweredRule()) }
    return Place(slot: otherOutput.count - 1, diagnosticIndex: diagnostics.count)
  }

  private mutating func lowerGroup(_ group: RuleGroup, printedAs canonicalForm: String?) -> (LoweredRule?, [Diagnostic]) {
    do {
      var output = LoweredRule()
      switch group {
      case .single(let rule, let ordinal):
        let canonicalForm = canonicalForm ?? CanonicalPrinter.print(rule)
        var context = RuleLowering(rule: rule, ordinal: ordinal, file: file, options: options, interfaces: interfaces,
                                   printedAs: canonicalForm)
        lineOccupancy?.add(rule.range, in: file)
        if let duplicate = duplicate(context.origin.text, at: rule.range) { return (output, [duplicate]) }
        try context.lower(rule)
        // Taken, not copied: a copy retains each of its arrays, and the context then lets them go.
        swap(&output, &context.output)
      case .roundRobin(let members):
        for member in members { lineOccupancy?.add(member.rule.range, in: file, alone: false) }
        var duplicates: [Diagnostic] = []
        var loaded: [(member: (rule: RdrRule, ordinal: Int), canonicalForm: String)] = []
        for member in members {
          let canonicalForm = CanonicalPrinter.print(.rdr(member.rule))
          if let duplicate = duplicate(canonicalForm, at: member.rule.range) {
            duplicates.append(duplicate)
          } else {
            loaded.append((member, canonicalForm))
          }
        }
        if !loaded.isEmpty {
          output = try RoundRobinGroup(members: loaded.map(\.member), canonicalForms: loaded.map(\.canonicalForm), file: file,
                                       options: options, interfaces: interfaces).lower()
        }
        return (output, duplicates + output.warnings)
      }
      return (output, output.warnings)
    } catch {
      return (nil, [error.diagnostic])
    }
  }

  /// IPFilter compares each rule it loads with those before it (`ip_nat.c: ipf_nat_cmp_rules`)
  /// and refuses an identical one with EEXIST. Identical means the same canonical form, however
  /// spelled (`10.0.0.0/24` and `10.0.0.0/255.255.255.0`, `port ftp` and `port 21`). `ipnat -f`
  /// reports the refusal and loads the rest of the file, so the rules that work are those of
  /// the file without its repeats: a repeat is left out, with a warning. It changes nothing,
  /// since the first copy is tried first and matches the same packets.
  private mutating func duplicate(_ text: String, at range: SourceRange) -> Diagnostic? {
    // One lookup for the rule that is new, as almost every rule is; a duplicate puts the first
    // one's range back.
    let key = CanonicalText(text)
    guard let first = firstRuleByText.updateValue(range, forKey: key) else { return nil }
    firstRuleByText[key] = first
    return Diagnostic(LoweringDiagnostics.duplicateRule,
                      "this rule repeats the rule of line \(file.location(of: first.start).line) and is left out: IPFilter refuses to load a duplicate",
                      at: range, notes: [Note("the first one is here", at: first)])
  }

  /// The table and the diagnostics. The builder is left empty: it gives up what it held as it
  /// goes, so that folding, which needs the most memory, runs with the least else held.
  mutating func finish() -> LoweringResult {
    // Later places first, so that each index still counts the diagnostics before its place.
    for (place, placed) in placedDiagnostics.reversed() { diagnostics.insert(contentsOf: placed, at: place.diagnosticIndex) }
    guard keepsOutput, !diagnostics.hasErrors else { return LoweringResult(table: nil, diagnostics: diagnostics) }
    let table = table()
    return LoweringResult(table: table, diagnostics: diagnostics, sourceFacts: sourceFacts)
  }

  private mutating func table() -> Table {
    var objects: [StatefulObject] = []
    var objectNames: Set<String> = []
    for object in otherOutput.flatMap(\.objects) where objectNames.insert(object.name).inserted {
      objects.append(object)
    }
    var chains: [Chain] = []
    let attributes = otherOutput.flatMap(\.connectionAttributes)
    if !attributes.isEmpty {
      chains.append(Chain(name: "ct_attrs", base: BaseChain(kind: .filter, hook: .forward, priority: .named(.mangle, offset: 0)),
                          rules: attributes))
    }
    let clamps = otherOutput.flatMap(\.mssclamp)
    if !clamps.isEmpty {
      chains.append(Chain(name: "mssclamp", base: BaseChain(kind: .filter, hook: .forward, priority: .named(.mangle, offset: 1)),
                          rules: clamps))
    }
    // Chains that rules jump to come first: nft resolves a jump when it adds the rule.
    chains += otherOutput.flatMap(\.chains)
    var maps = otherOutput.flatMap(\.maps)
    let reflection = otherOutput.flatMap(\.reflection)
    let rewrittenSources = otherOutput.flatMap(\.rewrittenSources)
    let lateDestinationRules = otherOutput.flatMap(\.lateDestinationRules)
    // All that folding needs is in `natRules`: what is left goes before folding peaks.
    otherOutput = []
    if let occupancy = lineOccupancy {
      sourceFacts = SourceFacts(singleStatementLines: occupancy.lines,
                                ruleTextHashes: firstRuleByText.keys.map(\.hash).sorted(),
                                firstRuleStart: occupancy.firstRuleStart)
    }
    firstRuleByText = [:]
    let (dstnat, srcnat) = foldNATRules()
    maps += dstnat.maps + srcnat.maps
    chains.append(Chain(name: "dstnat", base: BaseChain(kind: .nat, hook: .prerouting, priority: .named(.dstnat, offset: 0)),
                        rules: dstnat.rules + lateDestinationRules))
    chains.append(Chain(name: "srcnat", base: BaseChain(kind: .nat, hook: .postrouting, priority: .named(.srcnat, offset: 0)),
                        rules: rewrittenSources + reflection + srcnat.rules))
    var table = Table(family: .inet, name: options.tableName, objects: objects, maps: maps, chains: chains)
    table.labelTranslations()
    RuleText.record(in: &table)
    return table
  }

  /// Puts each NAT chain's rules in search order and folds them into maps (``RuleFolder``),
  /// dstnat's maps numbered first. The rules move out of the builder, so that folding them can
  /// free them. A large table's chains are ordered and planned on two threads, each without
  /// the other.
  private mutating func foldNATRules() -> (dstnat: RuleFolder.Output, srcnat: RuleFolder.Output) {
    // What the threads read of the builder, copied: the builder's rules are being moved out.
    let (threshold, sortsPlaces) = (options.foldThreshold, hasReservedPlaces)
    let allowsConcatenatedData = options.target.concatenatedMapData
    let recordsFootprints = sourceFacts != nil
    let inTwo = threshold != nil && natRules[0].count + natRules[1].count >= options.foldsOnTwoThreadsFrom
    var planned = natRules.withUnsafeMutableBufferPointer { chains in
      TwoThreads.run(inTwo) { index in
        let chain = NATChain(rawValue: index)!
        var entries = Self.inSearchOrder(&chains[index], sortingPlaces: sortsPlaces)
        let footprints = recordsFootprints ? FootprintRecord.encode(entries, chain: chain) : []
        guard let threshold else { return (RuleFolder.Plan(unfolded: entries.map(\.rule)), footprints) }
        let folder = RuleFolder(chain: chain, threshold: threshold, allowsConcatenatedData: allowsConcatenatedData)
        return (folder.plan(&entries), footprints)
      }
    }
    natRules = [[], []]
    // Moved out, not copied: a plan shared would be copied when its output is taken.
    var plans: [RuleFolder.Plan] = []
    var footprints: [UInt8] = []
    planned.drain { plan, chainFootprints in
      plans.append(plan)
      footprints += chainFootprints
    }
    sourceFacts?.footprints = footprints
    // The maps are built on one thread: building them frees the candidates, all allocated by
    // the lowering thread, and two threads freeing into one allocator arena wait on its lock
    // (they took longer than one).
    var mapNumber = 0
    let name = {
      mapNumber += 1
      return NamedMap.foldNamePrefix + String(mapNumber)
    }
    let outputs = [plans[0].output(name: name), plans[1].output(name: name)]
    return (outputs[0], outputs[1])
  }

  /// A chain's rules in IPFilter's search order (``SearchRank``): longest prefix first, then
  /// file order. Rules are lowered in file order, so one bucket per prefix length, filled as
  /// they come, is that order; only the rules of reserved places (`sortingPlaces`) are sorted
  /// into it. Each rule is moved, not copied: `rules` is left empty.
  private static func inSearchOrder(_ rules: inout [RankedRule], sortingPlaces: Bool) -> [FoldEntry] {
    var byLength = [[RankedRule]](repeating: [], count: IPFamily.inet6.width + 1)
    var entries: [FoldEntry] = []
    entries.reserveCapacity(rules.count)
    rules.drain { byLength[$0.rank.prefixLength].append($0) }
    for length in byLength.indices.reversed() {
      // A group's rules all have its first rule's ordinal, and no other group's.
      if sortingPlaces { byLength[length].sort { $0.rank.ordinal < $1.rank.ordinal } }
      byLength[length].drain { entries.append($0.entry) }
    }
    return entries
  }
}

/// Lowers one rule. Its methods live in one file per rule kind.
struct RuleLowering {
  /// The rule's position in the file (1-based), which names the maps and chains it creates.
  let ordinal: Int
  let origin: Origin
  let family: IPFamily
  let options: LoweringOptions
  let interfaces: InterfaceNames
  var output = LoweredRule()

  /// `canonicalForm`: the rule as `CanonicalPrinter` prints it. The caller prints it, once, for
  /// the duplicate check too, or has it from the parser.
  init(rule: IPNatSyntax.Rule, ordinal: Int, file: SourceFile, options: LoweringOptions, interfaces: InterfaceNames,
       printedAs canonicalForm: String) {
    self.ordinal = ordinal
    self.origin = Origin(file: file.name, line: file.location(of: rule.range.start).line, text: canonicalForm,
                         range: rule.range)
    self.family = rule.family
    self.options = options
    self.interfaces = interfaces
  }

  mutating func lower(_ rule: IPNatSyntax.Rule) throws(LoweringError) {
    switch rule {
    case .map(let map): try lowerMap(map.value)
    case .mapBlock(let mapBlock): try lowerMapBlock(mapBlock.value)
    case .rdr(let rdr): try lowerRdr(rdr.value)
    case .no(let no): try lowerNo(no.value)
    case .rewrite(let rewrite): try lowerRewrite(rewrite.value)
    case .divert(let divert):
      throw LoweringError(
        "lower.divert", "divert rules cannot be expressed in nftables: it has no statement that wraps a packet in a new IP and UDP header",
        at: divert.range, notes: [Note("a Linux foo-over-udp (fou) tunnel device does this outside the firewall")])
    }
  }

  func rule(_ matches: Matches, _ statements: [Statement]) -> NFTModel.Rule {
    NFTModel.Rule(matches: matches.all, statements: statements, origin: origin)
  }

  mutating func add(_ chain: NATChain, prefixLength: Int, _ rule: NFTModel.Rule) {
    let rank = SearchRank(prefixLength: prefixLength, ordinal: ordinal)
    output.natRules.append(RankedRule(chain: chain, rank: rank, entry: FoldEntry(rule, chain: chain, options: options)))
  }

  mutating func warn(_ id: DiagnosticID, _ message: String, at range: SourceRange, notes: [Note] = []) {
    output.warnings.append(.warning(id, message, at: range, notes: notes))
  }

  var addressFamily: AddressFamily { AddressFamily(family) }

  func addressSelector(_ side: Side) -> Expression {
    .selector(.payload(PayloadField(family == .inet ? .ip : .ip6, side == .source ? .saddr : .daddr)))
  }
}
