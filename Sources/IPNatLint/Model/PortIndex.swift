/// Entries that share a key prefix, indexed by destination port, so that the checks comparing
/// rules pairwise look only at rules whose ports can meet. A gateway with thousands of port
/// forwards on one address would otherwise cost a comparison per pair.
struct PortIndex {
  private static let bucketWidth = 64
  /// An entry spanning more buckets than this is checked against everything instead.
  private static let maximumSpan = 16
  /// Fewer entries than this are all checked against each other, without buckets: most keys
  /// hold one rule, and a dictionary of buckets for each would cost more than it saves.
  private static let smallestIndexed = 16

  private var buckets: [Int: [TableEntry]] = [:]
  private var wide: [TableEntry] = []

  init(_ entries: [TableEntry]) {
    guard entries.count >= Self.smallestIndexed else {
      wide = entries
      return
    }
    for entry in entries {
      guard let hull = Self.hull(entry) else { continue }
      let span = Self.buckets(of: hull)
      if span.count > Self.maximumSpan {
        wide.append(entry)
      } else {
        for bucket in span { buckets[bucket, default: []].append(entry) }
      }
    }
  }

  /// The entries whose destination ports may meet `entry`'s, each once, in file order.
  func candidates(meeting entry: TableEntry) -> [TableEntry] {
    guard let hull = Self.hull(entry) else { return [] }
    let span = Self.buckets(of: hull)
    var found = wide
    if span.count > Self.maximumSpan {
      found += buckets.values.joined()
    } else {
      for bucket in span { found += buckets[bucket] ?? [] }
    }
    var seen = Set<Int>()
    return found.filter { candidate in
      guard let other = Self.hull(candidate), other.overlaps(hull) else { return false }
      return seen.insert(candidate.index).inserted
    }.sorted { $0.index < $1.index }
  }

  private static func hull(_ entry: TableEntry) -> ClosedRange<Int>? {
    let intervals = entry.destinationPorts.intervals
    guard let first = intervals.first, let last = intervals.last else { return nil }
    return first.lowerBound...last.upperBound
  }

  private static func buckets(of hull: ClosedRange<Int>) -> ClosedRange<Int> {
    (hull.lowerBound / bucketWidth)...(hull.upperBound / bucketWidth)
  }
}
