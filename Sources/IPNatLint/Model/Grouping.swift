extension Sequence {
  /// The elements grouped by `key`, groups in the order their first element comes, elements
  /// in their own order: rules grouped this way keep file order, which IPFilter's search uses.
  func groupedInOrder<Key: Hashable>(by key: (Element) -> Key) -> [[Element]] {
    var order: [Key] = []
    var groups: [Key: [Element]] = [:]
    for element in self {
      let value = key(element)
      if groups[value] == nil { order.append(value) }
      groups[value, default: []].append(element)
    }
    return order.compactMap { groups[$0] }
  }
}
