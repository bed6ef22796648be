import IPNatDiagnostics
import IPNatSemantics
import IPNatSyntax
import NFTModel

/// `rewrite in|out on IF … from … to … -> src S dst D;` (`ip_nat.c: ipf_nat_newrewrite`): one
/// session that changes the source and the destination together. Linux changes a destination
/// before routing and a source after it, so the rule becomes two NAT rules for one connection:
///
/// - `in` sits in IPFilter's rdr table. In dstnat, ranked by its destination like an rdr rule,
///   packets arriving on IF get the new destination; in srcnat, ahead of every map rule (the
///   session is already made), connections that arrived on IF with the rule's original tuple
///   get the new source.
/// - `out` sits in the map table. In dstnat, after every rdr rule (inbound sessions come
///   first), packets the routing table sends out of IF (`fib daddr oifname`) get the new
///   destination; in srcnat, ranked by its source like a map rule, connections leaving by IF
///   with the rule's original tuple get the new source.
///
/// `0/0` keeps a value, though the rule still ends the search as IPFilter's session does; a
/// host is that host; `port = P` one port; a network's hosts (from network + 1) and a range of
/// new destination ports are handed out in turn by IPFilter's odometer (`RewriteOdometer`); a
/// range of new source ports is the kernel's choice.
/// `0/32` is the interface's address where Linux has it: the receiving interface's for an
/// `in` destination (`redirect`), the outgoing interface's for an `out` source (`masquerade`).
extension RuleLowering {
  mutating func lowerRewrite(_ rewrite: RewriteRule) throws(LoweringError) {
    let direction = rewrite.direction.value
    let name = try interfaces.linuxName(direction == .in ? rewrite.interfaces.inbound : rewrite.interfaces.outbound)
    var matches = Matches(family: family)
    if direction == .in {
      matches.interface(name, .iifname)
    } else {
      matches.routedOut(through: name)
    }
    try fromToMatches(rewrite.match, into: &matches)
    matches.transport(rewrite.ruleProtocol)

    let odometer = Self.odometer(rewrite)
    let newDestination = try newEnd(rewrite, .destination, odometer)
    switch (direction, newDestination) {
    case (.in, let statement):
      let precedence = rewrite.match.destination.address.precedenceLength(in: family)
      add(.dstnat, prefixLength: precedence, rule(matches, [statement ?? .verdict(.accept)]))
    case (.out, let statement?):
      output.lateDestinationRules.append(rule(matches, [statement]))
    case (.out, nil):
      break  // The destination stays, and no rdr rule comes after this one.
    }

    try addSourceRules(rewrite, interface: name, statement: try newEnd(rewrite, .source, odometer) ?? .verdict(.accept))
  }

  /// The odometer over the rule's networks and port ranges.
  private static func odometer(_ rewrite: RewriteRule) -> RewriteOdometer {
    func portCount(_ target: RewriteRule.Target) -> UInt64 {
      guard case .range(let range)? = target.ports, range.lowNumber <= range.highNumber else { return 1 }
      return UInt64(range.highNumber - range.lowNumber) + 1
    }
    return RewriteOdometer(sizes: [
      .sourceAddress: enumeratedHosts(rewrite.source)?.count ?? 1, .sourcePort: portCount(rewrite.source),
      .destinationAddress: enumeratedHosts(rewrite.destination)?.count ?? 1, .destinationPort: portCount(rewrite.destination),
    ])
  }

  /// The hosts of a network of new addresses, network + 1 to broadcast − 1.
  private struct Hosts {
    var first: IPAddress
    var last: IPAddress
    /// How many, at most UInt64.max (an IPv6 network has more).
    var count: UInt64 { last.bits - first.bits < UInt128(UInt64.max) ? UInt64(last.bits - first.bits) + 1 : UInt64.max }
  }

  /// The hosts a network of new addresses hands out; nil for anything else (a host, `0/0`,
  /// `0/32`, a network of two, what the lowering refuses).
  private static func enumeratedHosts(_ target: RewriteRule.Target) -> Hosts? {
    guard case .address(let address) = target.addresses, case .network(let network) = address.kind,
          network.maskBits != 0, !network.isHost, network.size > 2,
          Netmask.prefixLength(of: network.maskBits, family: network.address.family) != nil
    else { return nil }
    return Hosts(first: network.address.advanced(by: 1), last: network.lastAddress.advanced(by: UInt128.max))
  }

  /// The new source, in srcnat, for the rule's connections known by their original tuple: one
  /// rule per protocol when the tuple has ports (`ct original proto-dst` tests one protocol).
  private mutating func addSourceRules(_ rewrite: RewriteRule, interface: String?, statement: Statement)
    throws(LoweringError)
  {
    let pattern = ConnectionPattern(rewrite: rewrite, interface: interface)
    let numbers = rewrite.ruleProtocol.numbers
    let transports: [UInt8?] = rewrite.ruleProtocol.carriesPorts && pattern.testsPorts ? numbers : [nil]
    for transport in transports {
      let connection = rule(try pattern.matches(.original, transport: transport), [statement])
      if rewrite.direction.value == .in {
        output.rewrittenSources.append(connection)
      } else {
        add(.srcnat, prefixLength: rewrite.match.source.address.precedenceLength(in: family), connection)
      }
    }
  }

  private func fromToMatches(_ fromTo: FromTo, into matches: inout Matches) throws(LoweringError) {
    try matches.address(fromTo.source.address, .source, negated: fromTo.negation == .source)
    if let test = fromTo.source.port { try matches.port(test, .source) }
    try matches.address(fromTo.destination.address, .destination, negated: fromTo.negation == .destination)
    if let test = fromTo.destination.port { try matches.port(test, .destination) }
  }

  /// The NAT statement that gives a connection its new `side`: dnat for the destination, snat
  /// for the source; nil when the rule keeps that side, address and port.
  private func newEnd(_ rewrite: RewriteRule, _ side: Side, _ odometer: RewriteOdometer) throws(LoweringError) -> Statement? {
    let target = side == .source ? rewrite.source : rewrite.destination
    let kind: NATStatement.Kind = side == .source ? .snat : .dnat
    let port = try rewritePort(target, odometer, side == .source ? .sourcePort : .destinationPort)
    switch try rewriteAddress(target, odometer, side == .source ? .sourceAddress : .destinationAddress) {
    case .keep:
      guard let port else { return nil }
      return .nat(NATStatement(kind, family: addressFamily, address: addressSelector(side), port: port))
    case .address(let address):
      return .nat(NATStatement(kind, family: addressFamily, address: address, port: port))
    case .interface:
      switch (side, rewrite.direction.value) {
      case (.destination, .in): return .nat(NATStatement(.redirect, port: port))
      case (.source, .out): return .nat(NATStatement(.masquerade, port: port))
      case (.destination, .out):
        throw LoweringError("lower.rewrite-interface-address",
                            "nftables cannot send a packet to the address of the interface it leaves by",
                            at: target.range, notes: [Note("give the address itself")])
      case (.source, .in):
        throw LoweringError("lower.rewrite-interface-address",
                            "nftables cannot give a packet the address of the interface it arrived on as its source",
                            at: target.range, notes: [Note("give the address itself")])
      }
    }
  }

  private enum RewriteAddress {
    case keep
    case interface
    case address(Expression)
  }

  private func rewriteAddress(_ target: RewriteRule.Target, _ odometer: RewriteOdometer, _ field: RewriteOdometer.Field)
    throws(LoweringError) -> RewriteAddress
  {
    switch target.addresses {
    case .lookup(let lookup):
      throw LoweringError.lookupTable(at: lookup.range)
    case .range(let low, _, _):
      throw LoweringError("lower.rewrite-range", "IPFilter reads an address range here but cannot use it: its "
                            + "rewrite rules enumerate only addresses and networks, so every session would fail",
                          at: low.range, notes: [Note("give a network, or one address")])
    case .address(let address):
      switch address.kind {
      case .lookup(let lookup): throw LoweringError.lookupTable(at: lookup.range)
      case .any: return .keep
      case .network(let network) where network.maskBits == 0: return .keep
      case .network(let network) where network.isHost && network.address.bits == 0: return .interface
      case .network(let network) where network.isHost: return .address(.address(network.address))
      case .network(let network):
        guard Netmask.prefixLength(of: network.maskBits, family: family) != nil else {
          throw LoweringError("lower.pool-mask", "a network of new addresses needs a prefix mask", at: network.range)
        }
        guard let hosts = Self.enumeratedHosts(target) else { return .address(.address(network.address.advanced(by: 1))) }
        // A network of more hosts than the odometer's map takes is the kernel's choice.
        let counted = odometer.counter(field, size: hosts.count) { .address(hosts.first.advanced(by: UInt128($0))) }
        return .address(counted ?? .addressRange(hosts.first, hosts.last))
      }
    }
  }

  private func rewritePort(_ target: RewriteRule.Target, _ odometer: RewriteOdometer, _ field: RewriteOdometer.Field)
    throws(LoweringError) -> Expression?
  {
    switch target.ports {
    case nil: return nil
    case .fixed(let port): return .integer(UInt64(port.number))
    case .range(let range):
      guard range.lowNumber <= range.highNumber else {
        throw LoweringError("lower.empty-range", "the port range is empty: \(range.lowNumber) comes after \(range.highNumber)",
                            at: range.range)
      }
      // A new source port is the kernel's choice within the range: given one port in the
      // odometer's turn, it could not move on from a port in use (IPFilter does), and the
      // connection would fail. A new destination port takes the odometer's turn: the kernel
      // would give every connection the range's first, and the source ports would run out.
      let counted = field == .destinationPort
        ? odometer.counter(field, size: UInt64(range.highNumber - range.lowNumber) + 1) { .integer(UInt64(range.lowNumber) + $0) }
        : nil
      return counted ?? portExpression(range.lowNumber, range.highNumber)
    }
  }
}

extension ConnectionPattern {
  /// A rewrite rule's connections: arriving on its interface (`in`) or leaving by it (`out`).
  init(rewrite: RewriteRule, interface: String?) {
    family = rewrite.family
    // The first packet arrives on the interface (in) or leaves by it (out); replies, whichever
    // way routing sends them, are not tested.
    let arrives = rewrite.direction.value == .in
    original = (interface, arrives ? .iifname : .oifname)
    reply = (nil, arrives ? .oifname : .iifname)
    let match = rewrite.match
    source = (match.source.address, match.source.port, match.negation == .source)
    destination = (match.destination.address, match.destination.port, match.negation == .destination)
    ruleProtocol = rewrite.ruleProtocol
  }

  /// Whether the pattern tests ports, which `ct original` can only do for one protocol.
  var testsPorts: Bool { source?.port != nil || destination?.port != nil || destinationPorts != nil }
}
