import IPAddressing
import NFTModel

/// Folds the same-shaped rules of one NAT chain into map lookups, without changing which rule
/// translates which packet (`FoldCandidate` says which rules have a shape).
///
/// A NAT chain is first-match: the first rule that matches translates and ends the chain. A
/// fold group takes the place of its first member. A later rule of the same shape may join it
/// only if no rule it would move ahead of could match a packet it matches (`BlockerIndex`);
/// otherwise it opens a new group in its own place. Members of one group have distinct exact
/// keys, so no packet matches two of them, and their order inside the map does not matter. A
/// group with fewer than `threshold` members goes back to being plain rules in its place.
struct RuleFolder {
  let chain: NATChain
  let threshold: Int
  /// nft 1.0.6 reads no map with concatenated data from JSON.
  let allowsConcatenatedData: Bool

  struct Output {
    var rules: [NFTModel.Rule] = []
    var maps: [NamedMap] = []
  }

  /// `name` gives each map its name, unique in the table.
  func fold(_ rules: [NFTModel.Rule], name: () -> String) -> Output {
    let candidates = rules.map { rule in
      FoldCandidate(rule, chain: chain).flatMap { allowsConcatenatedData || !$0.shape.translation.isConcatenated ? $0 : nil }
    }
    guard candidates.count(where: { $0 != nil }) >= threshold else { return Output(rules: rules) }

    var candidateLengths: [IPFamily: Set<Int>] = [:]
    for case let candidate? in candidates {
      candidateLengths[candidate.network.address.family, default: []].insert(candidate.network.length)
    }
    var layout = Layout(keySide: chain == .dstnat ? .destination : .source,
                        candidateLengths: candidateLengths.mapValues { $0.sorted() })
    for (rule, candidate) in zip(rules, candidates) {
      layout.place(rule, candidate)
    }
    return layout.output(threshold: threshold, name: name)
  }
}

/// The chain as folding rearranges it: plain rules and groups, in order.
private struct Layout {
  enum Slot {
    case rule(NFTModel.Rule)
    case group(Int)
  }

  struct Group {
    let shape: FoldCandidate.Shape
    let slot: Int
    var members: [NFTModel.Rule] = []
    var candidates: [FoldCandidate] = []
    var keys: Set<FoldCandidate.Key> = []
    var blockers: BlockerIndex

    func repeatsKey(of candidate: FoldCandidate) -> Bool { candidate.keys.contains(where: keys.contains) }

    mutating func add(_ rule: NFTModel.Rule, _ candidate: FoldCandidate) {
      members.append(rule)
      candidates.append(candidate)
      keys.formUnion(candidate.keys)
    }
  }

  let keySide: Side
  let candidateLengths: [IPFamily: [Int]]
  private var slots: [Slot] = []
  private var groups: [Group] = []
  /// The group of each shape that rules may still join.
  private var open: [FoldCandidate.Shape: Int] = [:]

  init(keySide: Side, candidateLengths: [IPFamily: [Int]]) {
    self.keySide = keySide
    self.candidateLengths = candidateLengths
  }

  mutating func place(_ rule: NFTModel.Rule, _ candidate: FoldCandidate?) {
    let footprint = Footprint(rule)
    if let candidate, let index = open[candidate.shape] {
      let repeatsKey = groups[index].repeatsKey(of: candidate)
      if !repeatsKey, !groups[index].blockers.mayOverlap(footprint, keyedBy: candidate.network) {
        groups[index].add(rule, candidate)
        // It now sits at the group's place: groups opened before that place move ahead of it.
        for other in open.values where groups[other].slot < groups[index].slot {
          groups[other].blockers.add(footprint)
        }
        return
      }
      if repeatsKey {
        // The earlier rule with this key wins; this one stays a plain rule that never matches.
        append(.rule(rule), footprint)
        return
      }
    }
    guard let candidate else { return append(.rule(rule), footprint) }
    append(.group(groups.count), footprint)
    var group = Group(shape: candidate.shape, slot: slots.count - 1,
                      blockers: BlockerIndex(keySide: keySide, candidateLengths: candidateLengths))
    group.add(rule, candidate)
    if let previous = open[candidate.shape] { groups[previous].blockers = BlockerIndex(keySide: keySide, candidateLengths: [:]) }
    open[candidate.shape] = groups.count
    groups.append(group)
  }

  /// Puts a slot at the end of the chain, after every open group's place.
  private mutating func append(_ slot: Slot, _ footprint: Footprint) {
    for index in open.values { groups[index].blockers.add(footprint) }
    slots.append(slot)
  }

  func output(threshold: Int, name: () -> String) -> RuleFolder.Output {
    var output = RuleFolder.Output()
    for slot in slots {
      switch slot {
      case .rule(let rule):
        output.rules.append(rule)
      case .group(let index) where groups[index].members.count < threshold:
        output.rules += groups[index].members
      case .group(let index):
        let group = groups[index]
        let mapName = name()
        output.maps.append(NamedMap(name: mapName, key: group.shape.keyTypes, data: group.shape.dataTypes,
                                    intervalData: group.shape.translation == .addressAndPortRange,
                                    elements: group.candidates.flatMap(\.elements)))
        output.rules.append(foldedRule(group, mapName: mapName))
      }
    }
    return output
  }

  private func foldedRule(_ group: Group, mapName: String) -> NFTModel.Rule {
    let shape = group.shape
    var matches: [Match] = []
    if shape.matchesProtocol {
      let protocols = Set(group.candidates.flatMap(\.protocols)).sorted().map(transportExpression)
      matches.append(Match(.meta(.l4proto), protocols.count == 1 ? protocols[0] : .set(protocols)))
    }
    let nat = NATStatement(shape.nat, family: shape.family, address: .lookup(key: shape.lookupKey, map: .named(mapName)),
                           flags: shape.flags)
    let lines = group.members.compactMap(\.origin?.line)
    let origin = group.members.first?.origin.map { first in
      Origin(file: first.file, line: lines.min() ?? first.line,
             text: "\(group.members.count) rules of lines \(lines.min() ?? 0)-\(lines.max() ?? 0) folded into @\(mapName)")
    }
    return NFTModel.Rule(matches: matches, statements: [.nat(nat)], origin: origin)
  }
}
