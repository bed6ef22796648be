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
/// host is that host; a network hands out its hosts in turn (a per-rule counter, as IPFilter
/// enumerates them from network + 1); `,LOW-HIGH` is a port range and `port = P` one port.
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

    let newDestination = try newEnd(rewrite, .destination)
    switch (direction, newDestination) {
    case (.in, let statement):
      let precedence = rewrite.match.destination.address.precedenceLength(in: family)
      add(.dstnat, prefixLength: precedence, rule(matches, [statement ?? .verdict(.accept)]))
    case (.out, let statement?):
      output.lateDestinationRules.append(rule(matches, [statement]))
    case (.out, nil):
      break  // The destination stays, and no rdr rule comes after this one.
    }

    try addSourceRules(rewrite, interface: name, statement: try newEnd(rewrite, .source) ?? .verdict(.accept))
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
  private func newEnd(_ rewrite: RewriteRule, _ side: Side) throws(LoweringError) -> Statement? {
    let target = side == .source ? rewrite.source : rewrite.destination
    let kind: NATStatement.Kind = side == .source ? .snat : .dnat
    let port = try rewritePort(target)
    switch try rewriteAddress(target) {
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

  private func rewriteAddress(_ target: RewriteRule.Target) throws(LoweringError) -> RewriteAddress {
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
        let first = network.address.advanced(by: 1)
        guard network.size > 2 else { return .address(.address(first)) }
        // IPFilter's counter hands out the hosts in turn from network + 1 (tests n100, n101): one
        // session each. A network of more hosts than that counter's map takes is the kernel's choice.
        let last = network.lastAddress.advanced(by: UInt128.max)
        return .address(countedAddresses(from: first, through: last, portsPerAddress: 1) ?? .addressRange(first, last))
      }
    }
  }

  private func rewritePort(_ target: RewriteRule.Target) throws(LoweringError) -> Expression? {
    switch target.ports {
    case nil: return nil
    case .fixed(let port): return .integer(UInt64(port.number))
    case .range(let range):
      guard range.lowNumber <= range.highNumber else {
        throw LoweringError("lower.empty-range", "the port range is empty: \(range.lowNumber) comes after \(range.highNumber)",
                            at: range.range)
      }
      return portExpression(range.lowNumber, range.highNumber)
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
