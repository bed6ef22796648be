import IPAddressing
import NFTModel

/// A value read from the packet: an address, a number, an interface name, or nothing when
/// the packet has no such field (a port of an ICMP packet), which no match accepts, as nft's
/// implicit protocol checks accept none.
enum Value: Equatable {
  case address(IPAddress)
  case integer(UInt64)
  case name(String)
  /// The interface on the router's other side: its name is unknown, but it is not this one.
  case interfaceOtherThan(String)
  case absent
}

extension Run {
  /// The values of a match's left side: one, or one per part of a concatenation. Throws
  /// `Unknown` for a value the packet line does not give.
  func values(of expression: Expression) throws -> [Value] {
    switch expression {
    case .selector(let selector): return [try value(of: selector)]
    case .concatenation(let parts): return try parts.flatMap { try values(of: $0) }
    case .bitwiseAnd(let inner, let mask):
      return try values(of: inner).map { value in
        switch (value, mask) {
        case (.address(let address), .address(let bits)): .address(IPAddress(family: address.family, bits: address.bits & bits.bits))
        case (.integer(let number), .integer(let bits)): .integer(number & bits)
        default: value
        }
      }
    default:
      throw Unknown(what: Self.describe(expression))
    }
  }

  func value(of selector: Selector) throws -> Value {
    switch selector {
    case .meta(.iifname): return interface(input: true)
    case .meta(.oifname):
      // Before routing there is no output interface: nft's oifname fails, and the rule with it.
      return hookPoint == .prerouting ? .absent : interface(input: false)
    case .routeOutputName: return interface(input: false)
    case .meta(.l4proto): return .integer(UInt64(packet.protocolNumber))
    case .meta(.nfproto): return .integer(packet.family == .inet ? 2 : 10)
    case .meta(.mark): return .integer(packetMark)
    case .payload(let field): return try payload(field)
    case .conntrack(let key): return conntrack(key)
    case .numgenIncrement(let modulus):
      guard let chosen = choices[selector] else { throw NeedsChoice(selector: selector, modulus: modulus) }
      return .integer(chosen)
    case .tcpMaxSegmentSize:
      throw Unknown(what: Self.describe(.selector(selector)))
    }
  }

  /// The interface the packet arrives on (`input`) or leaves by: the packet line's for its
  /// own side, otherwise one that is not it.
  func interface(input: Bool) -> Value {
    if (packet.direction == .incoming) == input { return .name(packet.interface) }
    return evaluator.options.otherInterface.map { .name($0) } ?? .interfaceOtherThan(packet.interface)
  }

  private func payload(_ field: PayloadField) throws -> Value {
    switch (field.header, field.field) {
    case (.ip, .saddr), (.ip6, .saddr):
      return packet.family == (field.header == .ip ? .inet : .inet6) ? .address(packet.source.address) : .absent
    case (.ip, .daddr), (.ip6, .daddr):
      guard destinationKnown else { throw Unknown(what: "the destination prerouting chose, one of several") }
      return packet.family == (field.header == .ip ? .inet : .inet6) ? .address(packet.destination.address) : .absent
    case (.ip, .protocol), (.ip6, .nexthdr):
      return packet.family == (field.header == .ip ? .inet : .inet6) ? .integer(UInt64(packet.protocolNumber)) : .absent
    case (.tcp, .sport), (.udp, .sport), (.th, .sport):
      return port(packet.source, header: field.header)
    case (.tcp, .dport), (.udp, .dport), (.th, .dport):
      guard destinationKnown else { throw Unknown(what: "the destination port prerouting chose, one of several") }
      return port(packet.destination, header: field.header)
    case (.tcp, .flags):
      // The first packet of a TCP connection: SYN alone.
      return packet.protocolNumber == 6 ? .integer(0x02) : .absent
    case (.icmp, .type):
      return packet.protocolNumber == 1 ? packet.icmpType.map { .integer(UInt64($0)) } ?? .absent : .absent
    case (.icmpv6, .type):
      return packet.protocolNumber == 58 ? packet.icmpType.map { .integer(UInt64($0)) } ?? .absent : .absent
    default:
      return .absent
    }
  }

  private func port(_ endpoint: Endpoint, header: PayloadField.Header) -> Value {
    let wanted: UInt8? = header == .tcp ? 6 : header == .udp ? 17 : nil
    guard let port = endpoint.port, wanted.map({ $0 == packet.protocolNumber }) ?? true else { return .absent }
    return .integer(UInt64(port))
  }

  /// A new connection's original tuple is the packet line's; its status says whether
  /// prerouting translated the destination.
  private func conntrack(_ key: Selector.ConntrackKey) -> Value {
    switch key {
    case .originalSourceAddress: .address(original.source.address)
    case .originalDestinationAddress: .address(original.destination.address)
    case .originalSourcePort: original.source.port.map { .integer(UInt64($0)) } ?? .absent
    case .originalDestinationPort: original.destination.port.map { .integer(UInt64($0)) } ?? .absent
    case .status: .integer(destinationTranslated ? Symbols.conntrackStatus["dnat"]! : 0)
    }
  }

  // MARK: - Membership

  /// Whether `right` (a value, prefix, range, set, a concatenation of them, or a named map's
  /// keys) holds `value`.
  func contains(_ right: Expression, _ value: [Value], for left: Expression) throws -> Bool {
    if value.contains(.absent) { return false }
    if case .set(let members) = right { return try members.contains { try contains($0, value, for: left) } }
    if case .keys(let map) = right {
      return try elements(of: .named(map)).contains { try contains($0.key, value, for: left) }
    }
    if value.count > 1 {
      guard case .concatenation(let parts) = right, parts.count == value.count, case .concatenation(let lefts) = left
      else { return false }
      for index in parts.indices where try !contains(parts[index], [value[index]], for: lefts[index]) { return false }
      return true
    }
    if case .selector(.conntrack(.status)) = left, case .integer(let status) = value[0] {
      return integer(right, for: left).map { status & $0 != 0 } ?? false
    }
    switch (right, value[0]) {
    case (.address(let address), .address(let actual)): return address == actual
    case (.prefix(let address, let length), .address(let actual)):
      return actual.family == address.family
        && AddressPrefix(address, length: length).contains(AddressPrefix(actual, length: actual.family.width))
    case (.addressRange(let low, let high), .address(let actual)):
      return actual.family == low.family && low <= actual && actual <= high
    case (.integerRange(let low, let high), .integer(let actual)): return low <= actual && actual <= high
    case (.string(let pattern), .name(let name)):
      return pattern.hasSuffix("*") ? name.hasPrefix(pattern.dropLast()) : name == pattern
    case (.string(let pattern), .interfaceOtherThan(let name)):
      if pattern == name { return false }
      throw Unknown(what: "\(Self.describe(left)) (the name of the router's other interface)")
    case (_, .integer(let actual)):
      guard let number = integer(right, for: left) else {
        throw Unsupported(description: "a comparison of \(left) with \(right)")
      }
      return number == actual
    default:
      throw Unsupported(description: "a comparison of \(left) with \(right)")
    }
  }

  /// A number, or a symbol nft knows by name, in the sense of the field it is compared with.
  func integer(_ expression: Expression, for left: Expression) -> UInt64? {
    switch expression {
    case .integer(let number): return number
    case .bitwiseOr(let parts):
      let numbers = parts.compactMap { integer($0, for: left) }
      return numbers.count == parts.count ? numbers.reduce(0, |) : nil
    case .symbol(let name): return Symbols.value(name, for: left)
    default: return nil
    }
  }
}

extension Run {
  /// A value's name in nft's words, for notes.
  static func describe(_ expression: Expression) -> String {
    guard case .selector(let selector) = expression else { return "\(expression)" }
    switch selector {
    case .meta(let key): return key == .iifname || key == .oifname ? key.rawValue : "meta \(key.rawValue)"
    case .payload(let field): return "\(field.header.rawValue) \(field.field.rawValue)"
    case .conntrack(let key): return "ct \(key)"
    case .tcpMaxSegmentSize: return "tcp option maxseg size"
    case .routeOutputName: return "fib daddr oifname"
    case .numgenIncrement: return "numgen inc"
    }
  }
}

/// nft's symbolic constants, by the field they name a value of.
enum Symbols {
  static let protocols: [String: UInt64] = ["tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "ipv6-icmp": 58, "sctp": 132,
                                            "gre": 47, "esp": 50, "ah": 51, "udplite": 136, "dccp": 33]
  static let families: [String: UInt64] = ["ipv4": 2, "ipv6": 10]
  static let tcpFlags: [String: UInt64] = ["fin": 0x01, "syn": 0x02, "rst": 0x04, "psh": 0x08, "ack": 0x10, "urg": 0x20,
                                           "ecn": 0x40, "cwr": 0x80]
  static let conntrackStatus: [String: UInt64] = ["expected": 0x1, "seen-reply": 0x2, "assured": 0x4, "confirmed": 0x8,
                                                  "snat": 0x10, "dnat": 0x20, "dying": 0x200]

  static func value(_ name: String, for left: Expression) -> UInt64? {
    switch left {
    case .selector(.meta(.nfproto)): return families[name]
    case .selector(.payload(let field)) where field.field == .flags: return tcpFlags[name]
    case .selector(.payload(let field)) where field.field == .type:
      return ICMPTypes.number(Substring(name), protocol: field.header == .icmpv6 ? 58 : 1).map(UInt64.init)
    case .selector(.conntrack(.status)): return conntrackStatus[name]
    default: return protocols[name]
    }
  }
}
