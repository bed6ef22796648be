import IPNatDiagnostics
import IPNatSyntax
import NFTModel

/// Why one rule cannot be lowered. Lowering a rule stops at the first such problem; the rule's
/// partial output is thrown away and the next rule is lowered, so every problem in a file is
/// reported in one run.
struct LoweringError: Error {
  var diagnostic: Diagnostic

  init(_ id: DiagnosticID, _ message: String, at range: SourceRange?, notes: [Note] = []) {
    diagnostic = .error(id, message, at: range, notes: notes)
  }
}

extension IPFamily {
  /// nft's name for the family in `meta nfproto`.
  var nfproto: String { self == .inet ? "ipv4" : "ipv6" }
  /// The protocol number of ICMP for this family (1, or 58 for ICMPv6).
  var icmpProtocol: UInt8 { self == .inet ? 1 : 58 }
}

extension IPAddress {
  /// The address `offset` further on, wrapping within the family's width.
  func advanced(by offset: UInt128) -> IPAddress {
    IPAddress(family: family, bits: (bits &+ offset) & family.allOnes)
  }

  var isLoopback: Bool {
    switch family {
    case .inet: bits >> 24 == 127
    case .inet6: bits == 1
    }
  }
}

extension Network {
  /// The network's last address (its broadcast address for IPv4).
  var lastAddress: IPAddress { IPAddress(family: family, bits: address.bits | (~maskBits & family.allOnes)) }
}

/// IPFilter's per-rule port counter: each new session takes the next port of `low…high`, from
/// `low`, and after `high` starts again (`ip_nat.c: ipf_nat_newmap` for `sequential`,
/// `ipf_nat_newrdr` for a new port range). nft's `numgen inc` is such a counter, kept per rule;
/// an inline map turns it into ports, because nft 1.0.6 gives a NAT statement the counter's
/// value in host byte order where the port must be in network byte order.
func countedPort(from low: UInt16, through high: UInt16) -> Expression {
  let count = UInt32(high - low) + 1
  let elements = (0..<count).map { MapElement(.integer(UInt64($0)), .integer(UInt64(low) + UInt64($0))) }
  return .lookup(key: .selector(.numgenIncrement(modulus: count)), map: .inline(elements))
}

/// IPFilter's per-rule address counter: each session takes the current address, which moves to
/// the next one (from `first`, after `last` back to `first`) after `portsPerAddress` sessions:
/// a pool's port range, once its port counter has gone round (`ip_nat.c: ipf_nat_newmap`;
/// IPFilter's tests n2 and n5), or 1 for a rewrite's network (n100, n101). `numgen inc` counts
/// the rule's sessions, as `countedPort` does in step with it, and a map (an interval map for
/// several sessions per address) turns the count into an address.
/// Nil for more than 65,536 addresses, or where the count would pass numgen's 32 bits: the
/// caller leaves the address to the kernel then.
func countedAddresses(from first: IPAddress, through last: IPAddress, portsPerAddress: UInt32) -> Expression? {
  guard first.family == last.family, first.bits <= last.bits, last.bits - first.bits < 65_536, portsPerAddress > 0 else {
    return nil
  }
  let addresses = UInt64(last.bits - first.bits) + 1
  let perAddress = UInt64(portsPerAddress)
  guard addresses * perAddress <= UInt64(UInt32.max) else { return nil }
  let elements = (0..<addresses).map { index in
    let counts: Expression = perAddress == 1 ? .integer(index) : .integerRange(index * perAddress, (index + 1) * perAddress - 1)
    return MapElement(counts, .address(IPAddress(family: first.family, bits: first.bits + UInt128(index))))
  }
  return .lookup(key: .selector(.numgenIncrement(modulus: UInt32(addresses * perAddress))), map: .inline(elements))
}

/// The nft expression for a network: a plain address for a host, a prefix otherwise.
func prefixExpression(_ address: IPAddress, mask: UInt128) -> Expression {
  guard let length = Netmask.prefixLength(of: mask, family: address.family) else { return .address(address) }
  return length == address.family.width ? .address(address) : .prefix(address, length: length)
}

/// nft's names for the transport protocols ipnat.conf names.
private let transportNames: [UInt8: String] = [1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp"]
private let transportNumbers = Dictionary(uniqueKeysWithValues: transportNames.map { ($1, $0) })

/// The `meta l4proto` value for a protocol number: nft's name where it has a well-known one.
func transportExpression(_ number: UInt8) -> Expression {
  transportNames[number].map(Expression.symbol) ?? .integer(UInt64(number))
}

/// The protocol number a `meta l4proto` value stands for: the inverse of `transportExpression`.
func transportNumber(_ value: Expression) -> UInt8? {
  switch value {
  case .symbol(let name): transportNumbers[name]
  case .integer(let number) where number <= UInt64(UInt8.max): UInt8(number)
  default: nil
  }
}

/// The protocols a rule applies to, as transport numbers; empty for every protocol.
extension RuleProtocol {
  var numbers: [UInt8] {
    switch self {
    case .any: []
    case .tcp: [6]
    case .udp: [17]
    case .tcpUDP: [6, 17]
    case .number(let number): [number]
    }
  }

  /// `meta l4proto tcp`, `meta l4proto { tcp, udp }`, or `nil` for every protocol.
  var l4protoMatch: Match? {
    switch numbers.count {
    case 0: nil
    case 1: Match(.meta(.l4proto), transportExpression(numbers[0]))
    default: Match(.meta(.l4proto), .set(numbers.map(transportExpression)))
    }
  }
}

func portExpression(_ low: UInt16, _ high: UInt16) -> Expression {
  low == high ? .integer(UInt64(low)) : .integerRange(UInt64(low), UInt64(high))
}

/// ipnat.conf and nftables both have statements; in this module the word means nftables'.
typealias Statement = NFTModel.Statement

extension LoweredRule {
  /// Whether the rule made nothing at all.
  var isEmpty: Bool {
    natRules.isEmpty && objects.isEmpty && maps.isEmpty && chains.isEmpty && connectionAttributes.isEmpty && mssclamp.isEmpty
      && reflection.isEmpty && rewrittenSources.isEmpty && lateDestinationRules.isEmpty && warnings.isEmpty
  }

  /// Adds everything `other` produced after what this one holds.
  mutating func append(contentsOf other: LoweredRule) {
    natRules += other.natRules
    objects += other.objects
    maps += other.maps
    chains += other.chains
    connectionAttributes += other.connectionAttributes
    mssclamp += other.mssclamp
    reflection += other.reflection
    rewrittenSources += other.rewrittenSources
    lateDestinationRules += other.lateDestinationRules
    warnings += other.warnings
  }
}
