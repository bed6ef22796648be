import IPAddressing
import NFTModel

extension Run {
  /// The outcome of a NAT statement that fires: the new source (snat, masquerade) or
  /// destination (dnat, redirect), each address and port as the statement and its maps give.
  func translate(_ nat: NATStatement, by origin: Origin?) throws -> Evaluator.Outcome {
    var outcome = unchanged
    outcome.rule = origin
    let target = try self.target(nat.address, mapsPrefix: nat.mapsPrefix, kind: nat.kind)
    let ports = try nat.port.map { try portRange($0) } ?? target.ports
    switch nat.kind {
    case .snat, .masquerade:
      let address = nat.kind == .masquerade ? interfaceAddress(input: false) : target.address
      outcome.source = translated(outcome.source, address: address, ports: ports)
    case .dnat, .redirect:
      let address = nat.kind == .redirect ? interfaceAddress(input: true) : target.address
      outcome.destination = translated(outcome.destination, address: address, ports: ports)
    }
    return outcome
  }

  private func translated(_ endpoint: Evaluator.EndpointChoice, address: Evaluator.AddressChoice?,
                          ports: ClosedRange<UInt16>?) -> Evaluator.EndpointChoice {
    var endpoint = endpoint
    if let address { endpoint.address = address }
    // A port is translated only where the packet has one; otherwise the kernel keeps it.
    if let ports, endpoint.ports != nil { endpoint.ports = ports }
    return endpoint
  }

  /// An interface's address: the outgoing one's for masquerade, the incoming one's for
  /// redirect. Of the router's other interface only that is known.
  private func interfaceAddress(input: Bool) -> Evaluator.AddressChoice {
    guard case .name(let name) = interface(input: input) else { return .interfaceAddress("the other interface") }
    return evaluator.options.interfaceAddresses[name].map { .exactly($0) } ?? .interfaceAddress(name)
  }

  /// An address and ports from a NAT statement's target: a literal, a range, a prefix (mapped
  /// host bits kept, with `prefix`), `ADDRESS . PORT`, or a map lookup giving one of these.
  private func target(_ expression: Expression?, mapsPrefix: Bool, kind: NATStatement.Kind) throws
    -> (address: Evaluator.AddressChoice?, ports: ClosedRange<UInt16>?)
  {
    guard let expression else { return (nil, nil) }
    switch expression {
    case .address(let address): return (.exactly(address), nil)
    case .addressRange(let low, let high): return (.range(low, high), nil)
    case .prefix(let network, let length):
      let mask = AddressPrefix.mask(length, network.family)
      guard mapsPrefix else {
        return (.range(network, IPAddress(family: network.family, bits: network.bits | ~mask & network.family.allOnes)), nil)
      }
      // netmap: the network's bits, the original address's host bits.
      let original = kind == .snat ? packet.source.address : packet.destination.address
      return (.exactly(IPAddress(family: network.family, bits: network.bits & mask | original.bits & ~mask)), nil)
    case .concatenation(let parts) where parts.count == 2:
      let address = try target(parts[0], mapsPrefix: mapsPrefix, kind: kind).address
      return (address, try portRange(parts[1]))
    case .lookup(let key, let map):
      if let addresses = try chosenFromConsecutiveAddresses(key, in: map) { return (addresses, nil) }
      return try target(try lookup(key, in: map), mapsPrefix: mapsPrefix, kind: kind)
    default:
      throw Unsupported(description: "a NAT target \(expression)")
    }
  }

  private func portRange(_ expression: Expression) throws -> ClosedRange<UInt16> {
    switch expression {
    case .integer(let port): return UInt16(clamping: port)...UInt16(clamping: port)
    case .integerRange(let low, let high): return UInt16(clamping: low)...UInt16(clamping: high)
    case .lookup(let key, let map):
      if let ports = try chosenFromConsecutivePorts(key, in: map) { return ports }
      return try portRange(try lookup(key, in: map))
    default: throw Unsupported(description: "a NAT port \(expression)")
    }
  }

  /// `numgen inc mod N map { 0-99 : 203.0.113.1, 100-199 : 203.0.113.2, … }` (a pool's address
  /// counter): the kernel hands out every address of the map in turn, so the answer is their
  /// range, found without following each of N choices. Nil when the key is not an unchosen
  /// `numgen`, the addresses are not one run, or the map is a few addresses given one
  /// choice each (a round-robin's `A,B`), whose choices are each an answer of their own.
  private func chosenFromConsecutiveAddresses(_ key: Expression, in map: MapReference) throws -> Evaluator.AddressChoice? {
    guard isUnchosenCounter(key) else { return nil }
    let elements = try elements(of: map)
    let countsSessions = elements.contains { if case .integerRange = $0.key { true } else { false } }
    guard countsSessions || elements.count > 256 else { return nil }
    var distinct: Set<IPAddress> = []
    for element in elements {
      guard case .address(let address) = element.value else { return nil }
      distinct.insert(address)
    }
    // A rewrite's odometer gives an address in two runs of sessions: counted once.
    let addresses = distinct.sorted { $0.bits < $1.bits }
    guard let low = addresses.first, let high = addresses.last, addresses.allSatisfy({ $0.family == low.family }),
      high.bits - low.bits + 1 == UInt128(addresses.count)
    else { return nil }
    return addresses.count == 1 ? .exactly(low) : .range(low, high)
  }

  /// `numgen inc mod N map { 0 : 20000, 1 : 20001, … }` (a `sequential` portmap): the kernel
  /// hands out every port of the map in turn, so the answer is their range, found without
  /// following each of N choices. Nil when the key is not an unchosen `numgen` or the
  /// ports are not one run.
  private func chosenFromConsecutivePorts(_ key: Expression, in map: MapReference) throws -> ClosedRange<UInt16>? {
    guard isUnchosenCounter(key) else { return nil }
    var distinct: Set<UInt64> = []
    for element in try elements(of: map) {
      guard case .integer(let port) = element.value, port <= UInt16.max else { return nil }
      distinct.insert(port)
    }
    let ports = distinct.sorted()
    guard let low = ports.first, let high = ports.last, high - low + 1 == UInt64(ports.count) else { return nil }
    return UInt16(low)...UInt16(high)
  }

  /// Whether the key is a `numgen` this run has not fixed: every value of its map is then one
  /// of the kernel's choices.
  private func isUnchosenCounter(_ key: Expression) -> Bool {
    guard case .selector(let selector) = key, choices[selector] == nil else { return false }
    if case .numgenIncrement = selector { return true }
    return false
  }

  /// The value a map gives for the key's values; throws when none: the kernel's lookup fails,
  /// and the rule with it, which the rule's matches should have kept from happening.
  func lookup(_ key: Expression, in map: MapReference) throws -> Expression {
    let value = try values(of: key)
    guard let element = try elements(of: map).first(where: { try contains($0.key, value, for: key) }) else {
      throw MissingElement(key: key)
    }
    return element.value
  }

  func elements(of map: MapReference) throws -> [MapElement] {
    switch map {
    case .inline(let inline): return inline
    case .named(let name):
      guard let named = evaluator.table.maps.first(where: { $0.name == name }) else {
        throw Unsupported(description: "a lookup in a map the table lacks: \(name)")
      }
      return named.elements
    }
  }

  struct MissingElement: Error, CustomStringConvertible {
    var key: Expression
    var description: String { "no map element for \(key)" }
  }
}
