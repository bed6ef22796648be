import NFTModel

/// Folded rules live as elements of a map that one rule looks up (`fold_N`), and no element
/// names the ipnat.conf rule it stands for. `ipnat -r` finds them by what they do instead: an
/// element of a loaded fold is a removed rule's when a fold of the removed file, made with the
/// same lookup and translation, holds the same element (key and translation).
extension TableImage {
  /// The elements of this table's folds that `removed`'s folds hold too, by map. `removed`
  /// should fold every rule that can fold (a threshold of one): then each of its rules that
  /// could stand in a fold of this table is an element.
  public func foldedElements(of removed: TableImage) -> [TableUpdate.ElementChange] {
    var removedElements: [FoldKind: Set<KernelElement>] = [:]
    for (kind, name) in removed.folds() {
      removedElements[kind, default: []].formUnion(removed.sets[name]?.elements ?? [])
    }
    return folds().compactMap { kind, name in
      guard let doomed = removedElements[kind], let elements = sets[name]?.elements else { return nil }
      let found = elements.filter(doomed.contains)
      return found.isEmpty ? nil : TableUpdate.ElementChange(set: name, deleting: found.map(\.identifyingPart), adding: [])
    }
  }

  /// What makes two folds' elements mean the same: the chain of the rule that looks the map up,
  /// that rule from its counter on (the lookup's key and the translation, with the map's name
  /// left out), and the map's definition. The protocols the rule matches before its counter
  /// are left out: they only spare other packets the lookup, whose key holds the protocol.
  struct FoldKind: Hashable {
    var chain: String
    var lookupAndTranslation: String
    var definition: SetDefinition
  }

  /// Each fold of the table, with its kind.
  func folds() -> [(kind: FoldKind, name: String)] {
    rules.compactMap { rule in
      // Expressions print as `[kind …]` and the counter as `counter`, joined by spaces.
      let words = rule.content.fingerprint.split(separator: " ", omittingEmptySubsequences: false)
      guard let counter = words.firstIndex(of: "counter") else { return nil }
      var lookupAndTranslation = Array(words[(counter + 1)...])
      guard let set = lookupAndTranslation.indices.dropLast().first(where: {
        lookupAndTranslation[$0] == "set" && lookupAndTranslation[$0 + 1].hasPrefix(NamedMap.foldNamePrefix)
      }) else { return nil }
      let name = String(lookupAndTranslation[set + 1])
      guard let definition = sets[name]?.definition else { return nil }
      lookupAndTranslation[set + 1] = Substring(NamedMap.foldNamePrefix)
      return (FoldKind(chain: rule.chain, lookupAndTranslation: lookupAndTranslation.joined(separator: " "),
                       definition: definition), name)
    }
  }
}
