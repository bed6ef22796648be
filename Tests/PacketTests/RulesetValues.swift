import IPAddressing
import IPNatEvaluation
import NFTModel
import TestSupport

/// The values a lowered ruleset matches on — addresses, networks and ranges, ports and port
/// ranges, interface names — gathered from its rules and maps, to draw packets from: packets
/// built of a ruleset's own values reach its rules, whatever kinds of rules it holds.
struct RulesetValues {
  struct Span {
    var low: IPAddress
    var high: IPAddress
  }

  var addresses: [IPFamily: [Span]] = [:]
  var ports: [ClosedRange<UInt16>] = []
  var interfaceUses: [String: Int] = [:]

  init(_ table: Table) {
    for rule in table.chains.flatMap(\.rules) {
      for match in rule.matches {
        collect(match.left)
        collect(match.right)
      }
      for case .verdictMap(let key, let entries) in rule.statements {
        collect(key)
        entries.forEach { collect($0.key) }
      }
    }
    for map in table.maps { map.elements.forEach { collect($0.key) } }
  }

  /// The interface named most often, or nil for a ruleset that names none.
  var mostUsedInterface: String? {
    interfaceUses.filter { !$0.key.contains("*") && $0.key.utf8.count <= 15 }
      .max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
  }

  private mutating func collect(_ expression: Expression) {
    switch expression {
    case .address(let address): add(Span(low: address, high: address))
    case .prefix(let address, let length):
      let mask = AddressPrefix.mask(length, address.family)
      add(Span(low: IPAddress(family: address.family, bits: address.bits & mask),
               high: IPAddress(family: address.family, bits: (address.bits & mask) | (address.family.allOnes & ~mask))))
    case .addressRange(let low, let high): add(Span(low: low, high: high))
    case .integer(let value) where (1...65535).contains(value): ports.append(UInt16(value)...UInt16(value))
    case .integerRange(let low, let high) where low <= 65535:
      ports.append(UInt16(max(low, 1))...UInt16(min(high, 65535)))
    case .string(let name): interfaceUses[name, default: 0] += 1
    case .set(let items), .concatenation(let items), .bitwiseOr(let items): items.forEach { collect($0) }
    case .bitwiseAnd(let left, let right):
      collect(left)
      collect(right)
    case .lookup(let key, let map):
      collect(key)
      if case .inline(let elements) = map { elements.forEach { collect($0.key) } }
    default: break
    }
  }

  private mutating func add(_ span: Span) { addresses[span.low.family, default: []].append(span) }

  // MARK: - Drawing

  /// An address of one of the ruleset's spans of `family`, or nil when it has none.
  func drawAddress(_ family: IPFamily, using generator: inout SplitMix64) -> IPAddress? {
    guard let spans = addresses[family], !spans.isEmpty else { return nil }
    let span = spans[generator.next(below: spans.count)]
    let width = span.high.bits - span.low.bits
    let random = UInt128(generator.next()) << 64 | UInt128(generator.next())
    let offset = width == UInt128.max ? random : random % (width + 1)
    return IPAddress(family: family, bits: (span.low.bits + offset) & family.allOnes)
  }

  /// A port of one of the ruleset's ranges, one beside it, or any unprivileged port.
  func drawPort(using generator: inout SplitMix64) -> UInt16 {
    guard !ports.isEmpty, generator.next(below: 4) != 0 else { return UInt16(1024 + generator.next(below: 64512)) }
    let range = ports[generator.next(below: ports.count)]
    let port = Int(range.lowerBound) + generator.next(below: range.count) + [0, 0, 0, -1, 1][generator.next(below: 5)]
    return UInt16(clamping: max(port, 1))
  }
}

extension IPAddress {
  /// Whether a host in a namespace can hold this address and be reached at it: unicast, not
  /// loopback, not link-local, not an address the lab's link networks make special.
  var canBeHeldByAHost: Bool {
    switch family {
    case .inet:
      let value = UInt32(bits)
      let first = value >> 24
      let linkEnds: Set<String> = ["10.0.0.0", "10.0.0.255", "192.0.2.0", "192.0.2.255"]
      return first != 0 && first != 127 && first < 224 && value >> 16 != 0xA9FE && !linkEnds.contains(description)
    case .inet6:
      let top = bits >> 120
      let linkAnycast: Set<String> = ["fd00:10::", "2001:db8:2::"]
      return bits > 1 && top != 0xFF && bits >> 118 != 0x3FA && bits >> 32 != 0xFFFF && top != 0 && !linkAnycast.contains(description)
    }
  }
}
