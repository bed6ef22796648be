import NFTModel

/// How a rewrite rule hands out its new addresses and ports: IPFilter's odometer
/// (`ipf_nat_newrewrite`'s `in_stepnext`). Of the four new fields — source address, source
/// port, destination address, destination port, in that order — those with more than one value
/// (a network, a port range) are enumerated, each from its first value (network + 1, the low
/// port). Each new session moves one of them on, the next in turn, and the next session the one
/// after: with a source network, a source port range and a destination network and port range
/// (IPFilter's test n104) the sessions get 4.4.0.1:1000 → 6.6.0.1:4000, 4.4.0.2:1000 →
/// 6.6.0.1:4000, 4.4.0.2:1001 → 6.6.0.1:4000, 4.4.0.2:1001 → 6.6.0.2:4000, 4.4.0.2:1001 →
/// 6.6.0.2:4001, 4.4.0.3:1001 → 6.6.0.2:4001.
///
/// The field at place j of the R enumerated ones has moved ⌊(n + R − 1 − j) / R⌋ times when the
/// n-th session (from 0) begins, so it repeats every R × its number of values: each field is a
/// `numgen inc` map of its own, with that modulus, and the counters of one rule's NAT
/// statements move together, one step for each connection both see. A range of source ports
/// counts among the R fields but is left to the kernel's choice: given a single port in the
/// odometer's turn, the kernel could not move on from a port in use (IPFilter does, up to nine
/// times), and the connection would fail; given the range, it picks a free one.
struct RewriteOdometer {
  enum Field: CaseIterable {
    case sourceAddress, sourcePort, destinationAddress, destinationPort
  }

  private var places: [Field: Int] = [:]

  /// `sizes`: each field's number of values; a field not given has one.
  init(sizes: [Field: UInt64]) {
    for field in Field.allCases where sizes[field, default: 1] > 1 {
      places[field] = places.count
    }
  }

  /// The most values a field's map holds; a field of more is left to the kernel's choice.
  static let largestCountedField: UInt64 = 65_536

  /// The `numgen inc` map that gives `field` its `size` values in the odometer's order,
  /// `value(i)` being the i-th; nil for a field of one value or of more than the largest.
  func counter(_ field: Field, size: UInt64, value: (UInt64) -> Expression) -> Expression? {
    let fields = UInt64(places.count)
    guard let place = places[field].map(UInt64.init), size > 1, size <= Self.largestCountedField else { return nil }
    let period = size * fields
    var elements: [MapElement] = []
    var first: UInt64 = 0
    while first < period {
      // Sessions first…last find the field moved `moves` times.
      let moves = (first + fields - 1 - place) / fields
      let last = min(period - 1, moves * fields + place)
      elements.append(MapElement(first == last ? .integer(first) : .integerRange(first, last), value(moves % size)))
      first = last + 1
    }
    return .lookup(key: .selector(.numgenIncrement(modulus: UInt32(period))), map: .inline(elements))
  }
}
