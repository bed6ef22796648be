import IPAddressing
import NFTModel

/// Folds the same-shaped rules of one NAT chain into map lookups, without changing which rule
/// translates which packet (`FoldCandidate` says which rules have a shape).
///
/// A NAT chain is first-match: the first rule that matches translates and ends the chain. A
/// fold group takes the place of its first member. A later rule of the same shape may join it
/// only if no rule it would move ahead of could match a packet it matches (`BlockerIndex`);
/// otherwise it opens a new group in its own place. Members of one group have distinct exact
/// keys, so no packet matches two of them, and their order inside the map does not matter.
/// Groups with fewer than `threshold` members stay plain rules, in their own places.
struct RuleFolder {
  let chain: NATChain
  let threshold: Int
  /// Whether the output can declare a map with concatenated data (`OutputCapabilities`).
  let allowsConcatenatedData: Bool

  struct Output {
    var rules: [NFTModel.Rule] = []
    var maps: [NamedMap] = []
  }

  /// A chain's rules as folding arranges them, before its maps are named and built. Planning
  /// is most of folding's work and needs nothing of the other chain, so the two chains are
  /// planned at once (`TableBuilder`); the names, unique in the table, are given after, one
  /// chain then the other.
  struct Plan {
    fileprivate var layout: Layout?
    fileprivate var unfolded: [NFTModel.Rule] = []

    /// The rules as they are, folded into nothing (`--no-fold`).
    init(unfolded rules: [NFTModel.Rule]) { unfolded = rules }

    fileprivate init(layout: Layout) { self.layout = layout }

    /// The rules and maps. `name` gives each map its name, unique in the table. The plan is
    /// left empty, so that its candidates go as their maps are built.
    mutating func output(name: () -> String) -> Output {
      guard let layout = layout.take() else { return Output(rules: unfolded) }
      return layout.output(name: name)
    }
  }

  /// `rules` is emptied: the plan keeps what it needs, and folded rules can go before their
  /// maps are built.
  func plan(_ rules: inout [FoldEntry]) -> Plan {
    var candidateLengths: [IPFamily: Set<Int>] = [:]
    // Lengths come in runs, as shapes do: the set is asked only when the length changes.
    var lastLength: (family: IPFamily, length: Int)?
    var shapes = FirstSeenNumbers<FoldCandidate.Shape>()
    var pending: [Layout.Pending] = []
    for index in rules.indices {
      guard let candidate = candidate(rules[index]) else { continue }
      let (family, length) = (candidate.network.address.family, candidate.network.length)
      if lastLength?.family != family || lastLength?.length != length {
        candidateLengths[family, default: []].insert(length)
        lastLength = (family, length)
      }
      let shape = shapes.number(of: candidate.shape)
      if shape == pending.count { pending.append(Layout.Pending()) }
      pending[shape].add(candidate)
    }
    guard pending.reduce(0, { $0 + $1.members }) >= threshold else {
      defer { rules = [] }
      return Plan(unfolded: rules.map(\.rule))
    }

    let lengths = candidateLengths.mapValues { $0.sorted() }
    // A group too small to fold would go back to rules in its own place, ahead of rules it
    // was not ahead of in the file: harmless, but a needless change to read. So its members
    // are laid out again as the plain rules they will be.
    var layout = layOut(rules, lengths, shapes, pending, leavingAlone: [])
    let regrouped = layout.positionsInSmallGroups
    if !regrouped.isEmpty { layout = layOut(rules, lengths, shapes, pending, leavingAlone: regrouped) }
    rules = []
    return Plan(layout: layout)
  }

  private func layOut(_ rules: borrowing [FoldEntry], _ candidateLengths: [IPFamily: [Int]],
                      _ shapes: FirstSeenNumbers<FoldCandidate.Shape>, _ pending: [Layout.Pending],
                      leavingAlone plain: Set<Int>) -> Layout {
    var layout = Layout(keySide: chain == .dstnat ? .destination : .source, threshold: threshold,
                        candidateLengths: candidateLengths, shapes: shapes, pending: pending)
    for (position, rule) in rules.enumerated() {
      layout.place(rule, at: position, plain.contains(position) ? nil : candidate(rule))
    }
    return layout
  }

  private func candidate(_ entry: FoldEntry) -> FoldCandidate? {
    let candidate: FoldCandidate?
    switch entry {
    case .rule(let rule): candidate = FoldCandidate(rule, chain: chain)
    case .candidate(let exact): candidate = exact
    }
    guard let candidate, candidate.fits(allowingConcatenatedData: allowsConcatenatedData) else { return nil }
    return candidate
  }
}

/// The chain as folding rearranges it: plain rules and groups, in order.
private struct Layout {
  /// Candidates and keys of a shape still to come: a new group sizes its storage once.
  struct Pending {
    var members = 0
    var keys = 0

    mutating func add(_ candidate: FoldCandidate) {
      members += 1
      keys += candidate.keyCount
    }

    mutating func remove(_ candidate: FoldCandidate) {
      members -= 1
      keys -= candidate.keyCount
    }
  }

  enum Slot {
    case rule(FoldEntry)
    case group(Int)
  }

  /// One map key, with the interface as a number: rules of one shape with equal keys match
  /// the same packets, and only the first may join a map. An open group holds the keys of all
  /// its rules, so a key is kept in 32 bytes: the address as two halves of its bits (its
  /// family is the shape's), where an `IPAddress` would pad the key to 64.
  struct Key: Hashable {
    var addressHigh: UInt64
    var addressLow: UInt64
    var port: UInt64
    var interface: UInt32
    var transport: UInt8
    var hasPort: Bool

    init(interface: Int, address: IPAddress, transport: UInt8, port: UInt64?) {
      addressHigh = UInt64(truncatingIfNeeded: address.bits >> 64)
      addressLow = UInt64(truncatingIfNeeded: address.bits)
      self.port = port ?? 0
      self.interface = UInt32(interface)
      self.transport = transport
      hasPort = port != nil
    }

    /// One word into the hasher, where the synthesized hash feeds it six: a group looks up and
    /// stores each key of every rule that joins it.
    func hash(into hasher: inout Hasher) {
      let small = port << 24 | UInt64(interface) << 9 | UInt64(transport) << 1 | (hasPort ? 1 : 0)
      hasher.combine(addressLow ^ (addressHigh &* 0x9e37_79b9_7f4a_7c15) ^ (small &* 0xc2b2_ae3d_27d4_eb4f))
    }
  }

  /// A candidate's keys, made as they are read: one per protocol, or one for a shape without
  /// protocols. Most rules have one, and an array for it cost an allocation per rule.
  struct CandidateKeys: Sequence {
    let interface: Int
    let candidate: FoldCandidate

    var count: Int { candidate.keyCount }

    func makeIterator() -> Iterator { Iterator(keys: self) }

    struct Iterator: IteratorProtocol {
      let keys: CandidateKeys
      var index = 0

      mutating func next() -> Key? {
        guard index < keys.count else { return nil }
        let protocols = keys.candidate.protocols
        defer { index += 1 }
        return Key(interface: keys.interface, address: keys.candidate.network.address,
                   transport: protocols.isEmpty ? 0 : protocols[index], port: keys.candidate.port)
      }
    }
  }

  struct Group {
    let shape: FoldCandidate.Shape
    let slot: Int
    /// The rules and their places in the chain, while there are too few to fold: the group may
    /// still become rules again.
    var members: [FoldEntry] = []
    var memberPositions: [Int] = []
    var memberCount = 0
    var lines: ClosedRange<Int>?
    /// The line of each member, in the order they joined.
    var memberLines: [Int] = []
    var origin: Origin?
    var candidates: [FoldCandidate] = []
    /// The keys taken and the rules a new member would move ahead of, while the group is open.
    var keys: Set<Key> = []
    var blockers: BlockerIndex?

    func repeatsKey(_ candidateKeys: CandidateKeys) -> Bool { candidateKeys.contains(where: keys.contains) }

    mutating func add(_ rule: FoldEntry, at position: Int, _ candidate: FoldCandidate, keys candidateKeys: CandidateKeys,
                      threshold: Int) {
      memberCount += 1
      if memberCount < threshold {
        members.append(rule)
        memberPositions.append(position)
      } else {
        (members, memberPositions) = ([], [])
      }
      if let line = rule.origin?.line {
        lines = lines.map { min($0.lowerBound, line)...max($0.upperBound, line) } ?? line...line
        memberLines.append(line)
      }
      origin = origin ?? rule.origin
      candidates.append(candidate)
      for key in candidateKeys { keys.insert(key) }
    }

    /// No rule joins a closed group: what only joining needs can go, and so can the room
    /// reserved for members that went to a later group.
    mutating func close() {
      keys = []
      blockers = nil
      var exact: [FoldCandidate] = []
      exact.reserveCapacity(candidates.count)
      exact.append(contentsOf: candidates)
      candidates = exact
    }
  }

  let keySide: Side
  let threshold: Int
  let candidateLengths: [IPFamily: [Int]]
  private var slots: [Slot] = []
  private var groups: [Group] = []
  /// Numbers the candidates' shapes, as planning did, for `open` and `pending`.
  private var shapes: FirstSeenNumbers<FoldCandidate.Shape>
  /// By shape number: the group of the shape that rules may still join.
  private var open: [Int?]
  /// The open groups, in no particular order.
  private var openGroups: some Sequence<Int> { open.lazy.compactMap { $0 } }
  /// By shape number: the shape's candidates still to be placed.
  private var pending: [Pending]
  /// Numbers the interfaces, for the keys.
  private var interfaces = FirstSeenNumbers<String>()

  init(keySide: Side, threshold: Int, candidateLengths: [IPFamily: [Int]], shapes: FirstSeenNumbers<FoldCandidate.Shape>,
       pending: [Pending]) {
    self.keySide = keySide
    self.threshold = threshold
    self.candidateLengths = candidateLengths
    self.shapes = shapes
    self.pending = pending
    open = Array(repeating: nil, count: pending.count)
  }

  private mutating func keys(of candidate: FoldCandidate) -> CandidateKeys {
    CandidateKeys(interface: interfaces.number(of: candidate.interface), candidate: candidate)
  }

  /// The places of the rules in groups of two or more that are too small to fold.
  var positionsInSmallGroups: Set<Int> {
    Set(groups.filter { $0.memberCount < threshold && $0.memberCount > 1 }.flatMap(\.memberPositions))
  }

  mutating func place(_ rule: FoldEntry, at position: Int, _ candidate: FoldCandidate?) {
    // Read only when a rule is to be filed as a blocker, or checked against blockers: a rule
    // that joins the one open group of its shape, as most do, needs no footprint.
    lazy var footprint = Footprint(rule)
    guard let candidate else { return append(.rule(rule), footprint) }
    let candidateKeys = keys(of: candidate)
    let shape = shapes.number(of: candidate.shape)
    pending[shape].remove(candidate)
    if let index = open[shape] {
      let repeatsKey = groups[index].repeatsKey(candidateKeys)
      if !repeatsKey, groups[index].blockers?.admits(footprint, keyedBy: candidate.network) == true {
        groups[index].add(rule, at: position, candidate, keys: candidateKeys, threshold: threshold)
        // It now sits at the group's place: groups opened before that place move ahead of it.
        for other in openGroups where groups[other].slot < groups[index].slot {
          groups[other].blockers?.add(footprint)
        }
        return
      }
      if repeatsKey {
        // The earlier rule with this key wins; this one stays a plain rule that never matches.
        return append(.rule(rule), footprint)
      }
    }
    append(.group(groups.count), footprint)
    var group = Group(shape: candidate.shape, slot: slots.count - 1,
                      blockers: BlockerIndex(keySide: keySide, candidateLengths: candidateLengths))
    group.keys.reserveCapacity(candidateKeys.count + pending[shape].keys)
    group.candidates.reserveCapacity(1 + pending[shape].members)
    group.add(rule, at: position, candidate, keys: candidateKeys, threshold: threshold)
    if let previous = open[shape] { groups[previous].close() }
    open[shape] = groups.count
    groups.append(group)
  }

  /// Puts a slot at the end of the chain, after every open group's place. `footprint` is the
  /// place's lazy footprint: read if there is an open group, and then once.
  private mutating func append(_ slot: Slot, _ footprint: @autoclosure () -> Footprint) {
    for index in openGroups { groups[index].blockers?.add(footprint()) }
    slots.append(slot)
  }

  consuming func output(name: () -> String) -> RuleFolder.Output {
    // No rule joins a group any more: what joining needs goes before the maps are built.
    for index in groups.indices { groups[index].close() }
    var output = RuleFolder.Output()
    for slot in slots {
      switch slot {
      case .rule(let rule):
        output.rules.append(rule.rule)
      case .group(let index) where groups[index].memberCount < threshold:
        output.rules += groups[index].members.map(\.rule)
      case .group(let index):
        let mapName = name()
        output.rules.append(foldedRule(groups[index], mapName: mapName))
        let candidates = groups[index].candidates
        groups[index].candidates = []
        output.maps.append(map(of: consume candidates, groups[index], named: mapName))
      }
    }
    return output
  }

  /// The group's map. Each candidate is let go once its elements are made: a large map
  /// otherwise holds its rules twice, as candidates and as elements.
  private func map(of candidates: consuming [FoldCandidate], _ group: Group, named name: String) -> NamedMap {
    var elements: [MapElement] = []
    elements.reserveCapacity(candidates.reduce(0) { $0 + $1.keyCount })
    candidates.drain { $0.appendElements(to: &elements) }
    var map = NamedMap(name: name, key: group.shape.keyTypes, data: group.shape.dataTypes,
                       intervalData: group.shape.translation == .addressAndPortRange, elements: elements)
    map.memberLines = group.memberLines
    return map
  }

  private func foldedRule(_ group: Group, mapName: String) -> NFTModel.Rule {
    let shape = group.shape
    var matches: [Match] = []
    if shape.matchesProtocol {
      let protocols = Set(group.candidates.flatMap(\.protocols)).sorted().map(transportExpression)
      matches.append(Match(.meta(.l4proto), protocols.count == 1 ? protocols[0] : .set(protocols)))
    }
    // The map decides whether the rule matches. Its lookup in the NAT statement comes after
    // the counter and the label, which would count and label every packet that reaches the
    // rule: asking the map first keeps them to the packets the rule translates, as unfolded.
    matches.append(Match(shape.lookupKey, .keys(ofMap: mapName)))
    let nat = NATStatement(shape.nat, family: shape.family, address: .lookup(key: shape.lookupKey, map: .named(mapName)),
                           flags: shape.flags)
    let origin = group.origin.map { first in
      let lines = group.lines ?? first.line...first.line
      return Origin(file: first.file, line: lines.lowerBound,
                    text: "\(group.memberCount) rules of lines \(lines.lowerBound)-\(lines.upperBound) folded into @\(mapName)",
                    range: first.range)
    }
    return NFTModel.Rule(matches: matches, statements: [.nat(nat)], origin: origin)
  }
}

/// Values numbered in the order first seen: a chain's shapes (so that what folding keeps per
/// shape is an array) and its interfaces (for the keys). Rules come in runs of one shape on one
/// interface: the last value's number is kept, and comparing a value costs less than hashing it.
struct FirstSeenNumbers<Value: Hashable> {
  private var numbers: [Value: Int] = [:]
  private var last: (value: Value, number: Int)?

  mutating func number(of value: Value) -> Int {
    if let last, last.value == value { return last.number }
    let number = numbers[value] ?? numbers.count
    numbers[value] = number
    last = (value, number)
    return number
  }
}
