import IPNatDiagnostics
import IPNatSyntax
import NFTModel

/// Where a rule reads addresses and ports from.
enum Vantage {
  /// The packet's own headers: right in the NAT chains, which see each connection's first
  /// packet before it is translated.
  case packet
  /// The connection's original tuple (`ct original ip daddr`, `ct original proto-dst`): right in
  /// the forward chains, which run after dstnat has already rewritten the destination, and for
  /// reply packets, whose addresses are swapped.
  case originalTuple
}

enum Side {
  case source, destination
}

/// Collects the matches of one nft rule, in the order nft lists them: interface, family,
/// addresses, protocol, ports.
struct Matches {
  let family: IPFamily
  let vantage: Vantage
  private var interfaces: [Match] = []
  private var addresses: [Match] = []
  private var transport: [Match] = []
  private var ports: [Match] = []
  private var others: [Match] = []

  init(family: IPFamily, vantage: Vantage = .packet) {
    self.family = family
    self.vantage = vantage
  }

  /// The matches. In an inet table a rule without an address match would see both families, so
  /// it gets `meta nfproto`: an IPv4 rule must not translate IPv6 packets.
  var all: [Match] {
    var all: [Match] = []
    all.reserveCapacity(interfaces.count + 1 + addresses.count + transport.count + ports.count + others.count)
    all += interfaces
    if addresses.isEmpty { all.append(Match(.meta(.nfproto), .symbol(family.nfproto))) }
    all += addresses
    all += transport
    all += ports
    all += others
    return all
  }

  var testsPorts: Bool { !ports.isEmpty }

  mutating func interface(_ name: String?, _ key: Selector.MetaKey, negated: Bool = false) {
    guard let name else { return }
    interfaces.append(Match(.meta(key), negated ? .notEqual : .implicit, .string(name)))
  }

  /// `fib daddr oifname "IF"`: packets the routing table will send out of `name`.
  mutating func routedOut(through name: String?) {
    guard let name else { return }
    interfaces.append(Match(.routeOutputName, .string(name)))
  }

  mutating func transport(_ ruleProtocol: RuleProtocol) {
    transport = ruleProtocol.l4protoMatch.map { [$0] } ?? []
  }

  mutating func append(_ match: Match) { others.append(match) }

  // MARK: - Addresses

  /// An address test; `any` tests nothing. Lookup tables live in ippool.conf, outside the file.
  mutating func address(_ address: Address, _ side: Side, negated: Bool = false) throws(LoweringError) {
    guard let (network, mask) = address.network(in: family) else {
      throw LoweringError.lookupTable(at: address.range)
    }
    if mask == 0 {
      if negated {
        throw LoweringError("lower.matches-nothing", "'! any' matches no address, so this rule could never apply",
                            at: address.range)
      }
      return
    }
    self.network(network, mask: mask, side)
    if negated { addresses[addresses.count - 1].op = .notEqual }
  }

  /// `ip saddr 10.0.0.0/8`, or `ip saddr & 0.0.0.255 == 0.0.0.5` for a mask IPFilter allows but
  /// a prefix cannot spell.
  mutating func network(_ network: IPAddress, mask: UInt128, _ side: Side) {
    let selector = addressSelector(side)
    if Netmask.prefixLength(of: mask, family: family) == nil {
      let masked = Expression.bitwiseAnd(.selector(selector), .address(IPAddress(family: family, bits: mask)))
      addresses.append(Match(masked, .equal, .address(network)))
    } else {
      addresses.append(Match(selector, prefixExpression(network, mask: mask)))
    }
  }

  private func addressSelector(_ side: Side) -> Selector {
    let addressFamily = AddressFamily(family)
    switch (vantage, side) {
    case (.packet, .source): return .payload(PayloadField(family == .inet ? .ip : .ip6, .saddr))
    case (.packet, .destination): return .payload(PayloadField(family == .inet ? .ip : .ip6, .daddr))
    case (.originalTuple, .source): return .conntrack(.originalSourceAddress(addressFamily))
    case (.originalTuple, .destination): return .conntrack(.originalDestinationAddress(addressFamily))
    }
  }

  // MARK: - Ports

  /// Ports `low`…`high` (one port when equal).
  mutating func ports(_ low: UInt16, _ high: UInt16, _ side: Side) {
    ports.append(Match(portSelector(side), portExpression(low, high)))
  }

  /// A `port …` test of `from … to …`, with IPFilter's inclusive and exclusive ranges.
  mutating func port(_ test: PortTest, _ side: Side) throws(LoweringError) {
    let selector = portSelector(side)
    switch test.kind {
    case .compare(let comparison, let port):
      let value = Expression.integer(UInt64(port.number))
      let op: Match.Operator =
        switch comparison {
        case .equal: .implicit
        case .notEqual: .notEqual
        case .less: .less
        case .greater: .greater
        case .lessOrEqual: .lessOrEqual
        case .greaterOrEqual: .greaterOrEqual
        }
      ports.append(Match(selector, op, value))
    case .range(.inclusive, let low, let high):
      guard low.number <= high.number else { throw LoweringError.emptyPortTest(test) }
      ports.append(Match(selector, portExpression(low.number, high.number)))
    case .range(.inside, let low, let high):
      guard Int(low.number) + 1 <= Int(high.number) - 1 else { throw LoweringError.emptyPortTest(test) }
      ports.append(Match(selector, portExpression(low.number + 1, high.number - 1)))
    case .range(.outside, let low, let high):
      // Below `low` or above `high`: every port when the bounds are reversed.
      guard low.number <= high.number else { return }
      ports.append(Match(selector, .notEqual, portExpression(low.number, high.number)))
    }
  }

  private func portSelector(_ side: Side) -> Selector {
    switch (vantage, side) {
    case (.packet, .source): .payload(PayloadField(.th, .sport))
    case (.packet, .destination): .payload(PayloadField(.th, .dport))
    case (.originalTuple, .source): .conntrack(.originalSourcePort)
    case (.originalTuple, .destination): .conntrack(.originalDestinationPort)
    }
  }
}

extension LoweringError {
  static func lookupTable(at range: SourceRange) -> LoweringError {
    LoweringError(
      "lower.lookup-table",
      "ippool tables (pool/, hash/, dstlist/) are defined outside ipnat.conf, so nftables cannot see them",
      at: range, notes: [Note("write the addresses in the rule, or in a variable")])
  }

  static func emptyPortTest(_ test: PortTest) -> LoweringError {
    LoweringError("lower.matches-nothing", "this port test matches no port, so the rule could never apply",
                  at: test.range)
  }
}

/// The port numbers a `port …` test accepts, as closed ranges.
func acceptedPorts(_ test: PortTest) -> [ClosedRange<Int>] {
  func span(_ low: Int, _ high: Int) -> [ClosedRange<Int>] { low <= high ? [low...high] : [] }
  switch test.kind {
  case .compare(let comparison, let port):
    let n = Int(port.number)
    switch comparison {
    case .equal: return [n...n]
    case .notEqual: return span(0, n - 1) + span(n + 1, 65535)
    case .less: return span(0, n - 1)
    case .greater: return span(n + 1, 65535)
    case .lessOrEqual: return span(0, n)
    case .greaterOrEqual: return span(n, 65535)
    }
  case .range(.inclusive, let low, let high):
    return span(Int(low.number), Int(high.number))
  case .range(.inside, let low, let high):
    return span(Int(low.number) + 1, Int(high.number) - 1)
  case .range(.outside, let low, let high):
    guard low.number <= high.number else { return [0...65535] }
    return span(0, Int(low.number) - 1) + span(Int(high.number) + 1, 65535)
  }
}
