import IPNatSyntax

/// A set of port numbers as sorted, disjoint, closed intervals: what a port test passes.
struct PortSet: Hashable, Sendable {
  /// Sorted by `low`, never overlapping or touching.
  private(set) var intervals: [ClosedRange<Int>]

  static let all = PortSet([0...65535])
  static let none = PortSet([])

  init(_ intervals: [ClosedRange<Int>]) {
    var merged: [ClosedRange<Int>] = []
    for interval in intervals.sorted(by: { $0.lowerBound < $1.lowerBound }) {
      if let last = merged.last, interval.lowerBound <= last.upperBound + 1 {
        merged[merged.count - 1] = last.lowerBound...max(last.upperBound, interval.upperBound)
      } else {
        merged.append(interval)
      }
    }
    self.intervals = merged
  }

  static func range(_ low: Int, _ high: Int) -> PortSet { low <= high ? PortSet([low...high]) : .none }

  /// The ports a `from … port OP N` test passes.
  init(_ test: PortTest) {
    switch test.kind {
    case .compare(let comparison, let port):
      let p = Int(port.number)
      switch comparison {
      case .equal: self = .range(p, p)
      case .notEqual: self = PortSet.all.excluding(p...p)
      case .less: self = .range(0, p - 1)
      case .greater: self = .range(p + 1, 65535)
      case .lessOrEqual: self = .range(0, p)
      case .greaterOrEqual: self = .range(p, 65535)
      }
    case .range(let op, let low, let high):
      let (a, b) = (Int(low.number), Int(high.number))
      switch op {
      case .inside: self = .range(a + 1, b - 1)
      case .outside: self = a <= b ? PortSet.all.excluding(a...b) : .all
      case .inclusive: self = .range(a, b)
      }
    }
  }

  var isAll: Bool { self == .all }
  var isEmpty: Bool { intervals.isEmpty }

  func covers(_ other: PortSet) -> Bool {
    other.intervals.allSatisfy { needed in intervals.contains { $0.lowerBound <= needed.lowerBound && needed.upperBound <= $0.upperBound } }
  }

  func intersects(_ other: PortSet) -> Bool {
    intervals.contains { mine in other.intervals.contains { $0.overlaps(mine) } }
  }

  private func excluding(_ removed: ClosedRange<Int>) -> PortSet {
    var kept: [ClosedRange<Int>] = []
    for interval in intervals {
      if interval.lowerBound < removed.lowerBound {
        kept.append(interval.lowerBound...min(interval.upperBound, removed.lowerBound - 1))
      }
      if interval.upperBound > removed.upperBound {
        kept.append(max(interval.lowerBound, removed.upperBound + 1)...interval.upperBound)
      }
    }
    return PortSet(kept)
  }
}

/// The IP protocols a rule applies to.
struct ProtocolSet: Hashable, Sendable {
  /// `nil` for every protocol.
  let numbers: Set<UInt8>?

  init(_ ruleProtocol: RuleProtocol) {
    switch ruleProtocol {
    case .any: numbers = nil
    case .tcp: numbers = [6]
    case .udp: numbers = [17]
    case .tcpUDP: numbers = [6, 17]
    case .number(let number): numbers = [number]
    }
  }

  /// Whether only TCP and UDP packets pass: the only packets a port test can pass.
  var carriesPortsOnly: Bool { numbers.map { $0.isSubset(of: [6, 17]) } ?? false }

  func covers(_ other: ProtocolSet) -> Bool {
    guard let numbers else { return true }
    guard let theirs = other.numbers else { return false }
    return theirs.isSubset(of: numbers)
  }

  func intersects(_ other: ProtocolSet) -> Bool {
    guard let numbers, let theirs = other.numbers else { return true }
    return !numbers.isDisjoint(with: theirs)
  }
}
