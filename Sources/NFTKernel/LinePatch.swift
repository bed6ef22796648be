import NFTModel

extension LoadRecord {
  /// What changing line `line` of the recorded source changes in the loaded table, worked out
  /// from the line compiled alone before and after (`old`, `new`, with every foldable rule
  /// folded), with the record as it will be once the changes are sent. Nil, and the whole file
  /// must be compiled, unless all of this holds:
  ///
  /// - the line held one whole rule, and the record knows which maps it was folded into;
  /// - alone, the line's two versions make the same table but for the data of their fold maps'
  ///   elements: the same rules (so the same shapes), the same keys (so the same packets
  ///   matched; but see `keysMayChange`), and the same objects and other sets. Where a rule
  ///   lands among the others, and whether it folds, depends only on its shape and the packets
  ///   it matches (`RuleFolder`), so the whole file's compile differs only in those elements;
  /// - each fold map of the line alone stands for exactly one of the loaded maps that hold the
  ///   line, of the same definition, holding exactly the old elements;
  /// - the new rule repeats no other (`textHashes`: the canonical forms' ``CompiledSource/textHash(_:)``).
  ///
  /// `keysMayChange`: the caller has shown that the line's new matches move no rule
  /// (`FootprintRecord.movingMatches`), so its elements' keys may differ too, each element
  /// staying where it was in its map.
  public func patching(line: Int, from old: KernelTable, to new: KernelTable, textHashes: (old: UInt64, new: UInt64),
                       keysMayChange: Bool = false) -> (record: LoadRecord, changes: [TableUpdate.ElementChange])?
  {
    guard var source, source.holdsOneRule(line: line), Self.differOnlyInFoldData(old, new, keysMayChange: keysMayChange)
    else { return nil }
    guard let hashIndex = Self.index(of: textHashes.old, in: source.ruleTextHashes) else { return nil }
    source.ruleTextHashes.remove(at: hashIndex)
    guard Self.index(of: textHashes.new, in: source.ruleTextHashes) == nil else { return nil }
    source.ruleTextHashes.insert(textHashes.new, at: source.ruleTextHashes.partitionPoint { $0 >= textHashes.new })

    let loadedMaps = source.maps(foldingLine: line)
    let folds = zip(old.sets, new.sets).filter { $0.0.name.hasPrefix(NamedMap.foldNamePrefix) }
    guard loadedMaps.count == folds.count else { return nil }
    var record = self
    var changes: [TableUpdate.ElementChange] = []
    var taken: Set<String> = []
    for (before, after) in folds {
      // The loaded maps that could be this one, each with where it holds the old elements.
      let definition = TableImage.SetDefinition(before)
      let holders = loadedMaps.compactMap { name -> (name: String, indices: [Int])? in
        guard !taken.contains(name), definitions[name] == definition, let elements = sets[name] else { return nil }
        let indices = before.elements.compactMap { elements.firstIndex(of: $0) }
        return indices.count == before.elements.count ? (name, indices) : nil
      }
      guard holders.count == 1, let (name, indices) = holders.first else { return nil }
      taken.insert(name)
      let changed = before.elements.indices.filter { before.elements[$0] != after.elements[$0] }
      guard !changed.isEmpty else { continue }
      for position in changed { record.sets[name]![indices[position]] = after.elements[position] }
      changes.append(TableUpdate.ElementChange(set: name, deleting: changed.map { before.elements[$0].identifyingPart },
                                               adding: changed.map { after.elements[$0] }))
    }
    record.source = source
    return (record, changes)
  }

  /// Whether two tables are the same but for the data (or verdicts) of their fold maps'
  /// elements, and their keys if `keysMayChange`, element by element; rules compare without
  /// their origins, which name the rule's text.
  static func differOnlyInFoldData(_ old: KernelTable, _ new: KernelTable, keysMayChange: Bool) -> Bool {
    guard old.family == new.family, old.name == new.name, old.chains == new.chains, old.objects == new.objects,
      old.rules.map(\.withoutOrigin) == new.rules.map(\.withoutOrigin), old.sets.count == new.sets.count
    else { return false }
    return zip(old.sets, new.sets).allSatisfy { before, after in
      var keysOnly = after
      keysOnly.elements = zip(after.elements, before.elements).map { afterElement, beforeElement in
        var element = afterElement
        (element.data, element.verdict) = (beforeElement.data, beforeElement.verdict)
        if keysMayChange { (element.key, element.keyEnd) = (beforeElement.key, beforeElement.keyEnd) }
        return element
      }
      return before.name == after.name && before.elements.count == after.elements.count
        && (before.name.hasPrefix(NamedMap.foldNamePrefix) ? keysOnly == before : after == before)
    }
  }

  /// The index of `hash` in sorted `hashes`, if it is there.
  private static func index(of hash: UInt64, in hashes: [UInt64]) -> Int? {
    let index = hashes.partitionPoint { $0 >= hash }
    return index < hashes.count && hashes[index] == hash ? index : nil
  }
}

extension KernelRule {
  var withoutOrigin: KernelRule {
    var rule = self
    rule.origin = nil
    return rule
  }
}

extension Array {
  /// The first index whose element satisfies `isAtOrAfter`, for a predicate false for a prefix of
  /// the array and true for the rest (a binary search).
  func partitionPoint(_ isAtOrAfter: (Element) -> Bool) -> Int {
    var low = 0
    var high = count
    while low < high {
      let middle = (low + high) / 2
      if isAtOrAfter(self[middle]) { high = middle } else { low = middle + 1 }
    }
    return low
  }
}
