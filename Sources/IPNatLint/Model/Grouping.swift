extension Array {
  /// The elements grouped by `key`, groups in the order their first element comes, elements
  /// in their own order: rules grouped this way keep file order, which IPFilter's search uses.
  /// Groups of fewer than `minimumCount` elements are left out.
  ///
  /// Positions are sorted by key, rather than keys hashed into a dictionary: a large file has a
  /// key per rule, nearly all of them alone, and a dictionary of them was the most memory lint
  /// needed.
  func groupedInOrder<Key: Comparable>(by key: (Element) -> Key, leavingOutGroupsSmallerThan minimumCount: Int = 1)
    -> [[Element]]
  {
    let keys = map(key)
    let order = indices.sorted { (keys[$0], $0) < (keys[$1], $1) }
    var runs: [Range<Int>] = []
    var start = 0
    while start < order.count {
      var end = start + 1
      while end < order.count, keys[order[end]] == keys[order[start]] { end += 1 }
      if end - start >= minimumCount { runs.append(start..<end) }
      start = end
    }
    // A run's first position is its first element's: equal keys are sorted by position.
    runs.sort { order[$0.lowerBound] < order[$1.lowerBound] }
    return runs.map { run in order[run].map { self[$0] } }
  }
}
