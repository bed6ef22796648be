import IPAddressing
import NFTModel

/// A packet as a NAT chain sees its first packet.
struct TestPacket: CustomStringConvertible {
  var inputInterface: String
  var outputInterface: String
  var source: IPAddress
  var destination: IPAddress
  var transport: UInt8
  var destinationPort: UInt64

  var description: String {
    "\(inputInterface)->\(outputInterface) \(source) -> \(destination):\(destinationPort) proto \(transport)"
  }
}

/// Runs a packet through a NAT chain of the IR the way nft would, for the forms ipnat emits
/// in NAT chains: the first rule whose matches all hold and whose lookups all hit translates;
/// a rule that counts or labels a packet and then misses is an error.
/// It answers with the translation spelled out (`dnat 10.0.0.5:8080`), so that two tables can
/// be compared packet by packet whatever their layout. A form it does not know is a test
/// failure, never a guess.
struct ChainEvaluator {
  let table: Table

  struct Unsupported: Error, CustomStringConvertible {
    var description: String
  }

  func translate(_ packet: TestPacket, in chainName: String) throws -> String? {
    guard let chain = table.chains.first(where: { $0.name == chainName }) else { return nil }
    for rule in chain.rules {
      guard try rule.matches.allSatisfy({ try holds($0, for: packet) }) else { continue }
      // The translation label marks the connection for `ipnat -F`; it translates nothing.
      let statements = rule.statements.filter { $0 != .setConntrackLabel(TranslationLabel.bit) }
      guard statements.count == 1, case .nat(let nat) = statements[0] else {
        throw Unsupported(description: "statements \(rule.statements)")
      }
      guard let translation = try describe(nat, for: packet) else {
        // The NAT statement's lookup missed, after the counter and the label ran: the rule
        // would count, and `ipnat -F` flush, a connection it does not translate.
        if rule.counter || statements.count < rule.statements.count {
          throw Unsupported(description: "a rule counts and labels what it does not translate: \(rule)")
        }
        continue
      }
      return translation
    }
    return nil
  }

  // MARK: - Matches

  private func holds(_ match: Match, for packet: TestPacket) throws -> Bool {
    let result: Bool
    if case .keys(let mapName) = match.right {
      result = try element(of: mapName, for: match.left, packet) != nil
    } else {
      result = try contains(match.right, try evaluate(match.left, for: packet))
    }
    switch match.op {
    case .implicit, .equal: return result
    case .notEqual: return !result
    default: throw Unsupported(description: "operator \(match.op)")
    }
  }

  /// A value the packet has: an address, a number or a name.
  private enum Value: Hashable {
    case address(IPAddress)
    case number(UInt64)
    case name(String)
    case absent
  }

  private func evaluate(_ expression: Expression, for packet: TestPacket) throws -> Value {
    switch expression {
    case .selector(.meta(.iifname)): return .name(packet.inputInterface)
    case .selector(.meta(.oifname)): return .name(packet.outputInterface)
    case .selector(.meta(.l4proto)): return .number(UInt64(packet.transport))
    case .selector(.meta(.nfproto)): return .number(packet.source.family == .inet ? 2 : 10)
    case .selector(.payload(let field)):
      let family: IPFamily = field.header == .ip ? .inet : .inet6
      switch field.field {
      case .saddr: return packet.source.family == family ? .address(packet.source) : .absent
      case .daddr: return packet.destination.family == family ? .address(packet.destination) : .absent
      case .dport where field.header == .th: return [6, 17].contains(packet.transport) ? .number(packet.destinationPort) : .absent
      default: throw Unsupported(description: "field \(field)")
      }
    case .bitwiseAnd(let inner, .address(let mask)):
      guard case .address(let address) = try evaluate(inner, for: packet) else { return .absent }
      return .address(IPAddress(family: address.family, bits: address.bits & mask.bits))
    default:
      throw Unsupported(description: "expression \(expression)")
    }
  }

  private func contains(_ constant: Expression, _ value: Value) throws -> Bool {
    switch (constant, value) {
    case (_, .absent): return false
    case (.string(let name), .name(let actual)): return name == actual
    case (.symbol("ipv4"), .number(let family)): return family == 2
    case (.symbol("ipv6"), .number(let family)): return family == 10
    case (.symbol(let name), .number(let number)): return Self.transportNumbers[name] == number
    case (.integer(let expected), .number(let actual)): return expected == actual
    case (.integerRange(let low, let high), .number(let actual)): return (low...high).contains(actual)
    case (.address(let expected), .address(let actual)): return expected == actual
    case (.prefix(let network, let length), .address(let actual)):
      return AddressPrefix(network, length: length).contains(AddressPrefix(actual, length: actual.family.width))
    case (.set(let members), _): return try members.contains { try contains($0, value) }
    default: throw Unsupported(description: "constant \(constant) against \(value)")
    }
  }

  private static let transportNumbers: [String: UInt64] = ["icmp": 1, "tcp": 6, "udp": 17, "ipv6-icmp": 58]

  // MARK: - Translations

  /// The translation, or nil when a lookup misses (the rule then does not match).
  private func describe(_ nat: NATStatement, for packet: TestPacket) throws -> String? {
    var text = nat.kind.rawValue
    if let address = nat.address {
      guard let resolved = try resolve(address, for: packet) else { return nil }
      text += " " + resolved
    }
    if let port = nat.port {
      guard let resolved = try resolve(port, for: packet) else { return nil }
      text += ":" + resolved
    }
    if !nat.flags.isEmpty { text += " " + nat.flags.map(\.rawValue).joined(separator: ",") }
    return text
  }

  private func resolve(_ expression: Expression, for packet: TestPacket) throws -> String? {
    switch expression {
    case .address(let address): return address.description
    case .integer(let number): return String(number)
    case .integerRange(let low, let high): return "\(low)-\(high)"
    case .concatenation(let parts):
      return try parts.map { try resolve($0, for: packet) ?? "?" }.joined(separator: ":")
    case .lookup(let key, .named(let name)):
      guard let element = try element(of: name, for: key, packet) else { return nil }
      return try resolve(element.value, for: packet)
    default:
      throw Unsupported(description: "translation \(expression)")
    }
  }

  /// The named map's element for the packet's values of `key`, or nil when it has none.
  private func element(of mapName: String, for key: Expression, _ packet: TestPacket) throws -> MapElement? {
    guard let map = table.maps.first(where: { $0.name == mapName }) else { throw Unsupported(description: "map \(mapName)") }
    let keyValues: [Value]
    if case .concatenation(let parts) = key {
      keyValues = try parts.map { try evaluate($0, for: packet) }
    } else {
      keyValues = [try evaluate(key, for: packet)]
    }
    for element in map.elements {
      let constants: [Expression]
      if case .concatenation(let parts) = element.key { constants = parts } else { constants = [element.key] }
      guard constants.count == keyValues.count else { throw Unsupported(description: "key \(element.key)") }
      if try zip(constants, keyValues).allSatisfy({ try contains($0, $1) }) { return element }
    }
    return nil
  }
}
