import IPNatDiagnostics
import IPNatSemantics
import IPNatSyntax
import NFTModel

/// `rdr` (`ip_nat.c: ipf_nat_newrdr`).
extension RuleLowering {
  mutating func lowerRdr(_ rdr: RdrRule) throws(LoweringError) {
    let precedence = rdr.destinationAddress.precedenceLength(in: family)
    if let (network, port) = plainForward(rdr) {
      // The errors come in the order the other way reports them: the interface's name first.
      let inbound = try interfaces.linuxName(rdr.interfaces.inbound)
      let statement = try destinationTranslation(rdr, to: newDestination(rdr))
      if let candidate = try foldCandidate(.dstnat, interface: inbound, network: network, protocols: rdr.ruleProtocol,
                                           port: port, statement, matches: { () throws(LoweringError) in try rdrMatches(rdr) }) {
        add(.dstnat, prefixLength: precedence, candidate)
      } else {
        add(.dstnat, prefixLength: precedence, rule(try rdrMatches(rdr), [statement]))
      }
    } else {
      let matches = try rdrMatches(rdr)
      var statements = try tagStatements(rdr)
      statements.append(try destinationTranslation(rdr, to: newDestination(rdr)))
      add(.dstnat, prefixLength: precedence, rule(matches, statements))
      if options.reflection, let reflected = try reflectedRule(rdr, matches: matches, statements: statements) {
        add(.dstnat, prefixLength: precedence, reflected)
      }
    }
    try lowerRdrAttributes(rdr)
  }

  /// The destination network and port of an rdr whose rule matches only the interface, that
  /// network, the protocols and at most one port (no `from … to`, tag, port range or
  /// reflection), as a map element's key: see ``foldCandidate``.
  private func plainForward(_ rdr: RdrRule) -> (network: AddressPrefix, port: UInt16?)? {
    guard !options.reflection, rdr.options.tag == nil, case .address(let address, _) = rdr.match else { return nil }
    var port: UInt16?
    if let (low, high) = rdr.matchedPortRange {
      guard low == high else { return nil }
      port = low
    }
    return foldablePrefix(address).map { ($0, port) }
  }

  mutating func lowerRdrAttributes(_ rdr: RdrRule) throws(LoweringError) {
    guard rdr.options.hasConnectionAttributes || rdr.proxy != nil else {
      // The pattern would have checked the reply interface's name, which nothing else reads.
      _ = try interfaces.linuxName(rdr.interfaces.outbound)
      return
    }
    let pattern = try ConnectionPattern(rdr: rdr, interfaces: interfaces)
    try lowerConnectionAttributes(rdr.options, pattern: pattern)
    switch rdr.proxy {
    case .label(let label): try lowerProxy(label: label, port: rdr.ports.matchLow, pattern: pattern)
    case .clause(let clause): try lowerProxy(label: clause.label, port: rdr.ports.matchLow, pattern: pattern)
    case nil: break
    }
  }

  /// The packets an rdr rule takes: arriving on its first interface, to its address and ports.
  func rdrMatches(_ rdr: RdrRule) throws(LoweringError) -> Matches {
    var matches = Matches(family: family)
    matches.interface(try interfaces.linuxName(rdr.interfaces.inbound), .iifname)
    switch rdr.match {
    case .address(let address, _):
      try matches.address(address, .destination)
      if let (low, high) = rdr.matchedPortRange { matches.ports(low, high, .destination) }
    case .fromTo(let fromTo):
      try matches.address(fromTo.source.address, .source, negated: fromTo.negation == .source)
      try matches.address(fromTo.destination.address, .destination)
      if let test = fromTo.source.port { try matches.port(test, .source) }
      if let test = fromTo.destination.port { try matches.port(test, .destination) }
    }
    matches.transport(rdr.ruleProtocol)
    return matches
  }

  /// `tag N` on an rdr marks the connection, so that filter rules can test it.
  func tagStatements(_ rdr: RdrRule) throws(LoweringError) -> [Statement] {
    guard let tag = rdr.options.tag else { return [] }
    return [.setMark(.connection, try markValue(tag))]
  }

  // MARK: - The new destination

  enum NewDestination {
    /// `-> 0/0`: keep the address, change only the port.
    case keep
    /// `-> 0/32`: the receiving interface's address.
    case interfaceAddress
    case host(IPAddress)
    /// `-> A,B`: new sessions alternate (`sticky` needs round-robin: ``RoundRobinGroup``).
    case alternate(IPAddress, IPAddress)
  }

  /// `rdr` sent to `server` alone, taking turns with its partners and keeping each client.
  static func stickyRoundRobin(_ rdr: RdrRule, _ server: Network) -> String {
    var rule = rdr
    rule.target = .address(Address(.network(server), range: server.range))
    rule.options.roundRobin = Flag(range: rdr.range)
    return "'" + CanonicalPrinter.print(.rdr(rule)) + "'"
  }

  func newDestination(_ rdr: RdrRule) throws(LoweringError) -> NewDestination {
    switch rdr.target {
    case .split(let first, let second):
      if rdr.options.sticky != nil && rdr.options.roundRobin == nil {
        throw LoweringError(
          "lower.sticky-split",
          "with 'sticky' but without 'round-robin', IPFilter sends a returning client to 0.0.0.0 and drops it",
          at: rdr.options.sticky?.range ?? rdr.range,
          notes: [Note("IPFilter's hostmap keeps the server where this lookup never reads it (`ip_nat.c: ipf_nat_newrdr` "
                         + "reads hm_ndstip, which `ipf_nat_hostmap` leaves 0)"),
                  Note("to keep each client on one server, write one rule per server, taking turns: "
                         + Self.stickyRoundRobin(rdr, first) + "; " + Self.stickyRoundRobin(rdr, second)
                         + " (or remove 'sticky')")])
      }
      return .alternate(first.address, second.address)
    case .range(let low, _, _):
      // IPFilter stores the range but always uses its first address.
      return .host(low.address)
    case .address(let address):
      switch address.kind {
      case .lookup: throw LoweringError.lookupTable(at: address.range)
      case .any: return .keep
      case .network(let network) where network.maskBits == 0: return .keep
      case .network(let network) where network.address.bits == 0: return .interfaceAddress
      case .network(let network): return .host(network.address)
      }
    }
  }

  /// The dnat (or redirect) for one target.
  mutating func destinationTranslation(_ rdr: RdrRule, to destination: NewDestination) throws(LoweringError) -> Statement {
    let port = try newDestinationPort(rdr)
    switch destination {
    case .keep:
      guard let port else { return .verdict(.accept) }
      return .nat(NATStatement(.dnat, family: addressFamily, address: addressSelector(.destination), port: port))
    case .interfaceAddress:
      return .nat(NATStatement(.redirect, port: port))
    case .host(let address) where address.isLoopback:
      // dnat to 127.0.0.1 is dropped as a martian; redirect delivers to the router itself.
      warn("lower.rdr-loopback",
           "the connection is redirected to this host's address on the receiving interface, not to \(address)",
           at: rdr.range, notes: [Note("Linux drops packets sent to a loopback address from outside; the service must listen on that interface's address or on all addresses")])
      return .nat(NATStatement(.redirect, port: port))
    case .host(let address):
      return .nat(NATStatement(.dnat, family: addressFamily, address: .address(address), port: port))
    case .alternate(let first, let second):
      let elements = [MapElement(.integer(0), .address(first)), MapElement(.integer(1), .address(second))]
      let chooser = Expression.selector(.numgenIncrement(modulus: 2))
      return .nat(NATStatement(.dnat, family: addressFamily, address: .lookup(key: chooser, map: .inline(elements)),
                               port: port))
    }
  }

  // MARK: - The new port

  /// IPFilter's port arithmetic (`ip_nat.c: ipf_nat_newrdr`): `port = P` is fixed; a matched range shifts
  /// (`new = dport − low + RHS high`); one matched port and a new range cycle through the range.
  /// A new port of 0 keeps the destination port, as IPFilter's `port 0 -> … port 0 tcp` does
  /// (its next port is 0, so the packet's own is used: test n4).
  private mutating func newDestinationPort(_ rdr: RdrRule) throws(LoweringError) -> Expression? {
    guard rdr.ruleProtocol.carriesPorts, rdr.targetPort != nil || rdr.proxy != nil else { return nil }
    let ports = rdr.ports
    if ports.targetLow == 0 && ports.targetHigh == 0 { return nil }
    if ports.isFixed { return .integer(UInt64(ports.targetLow)) }
    if ports.matchLow != ports.matchHigh { return try shiftedPort(rdr, ports) }
    let high = max(ports.targetLow, ports.targetHigh)
    if high == ports.targetLow { return .integer(UInt64(ports.targetLow)) }
    // One matched port, several new ones: a per-rule counter hands them out in turn.
    return countedPort(from: ports.targetLow, through: high)
  }

  /// A shift needs one map element per port: a dnat to a port range does not shift.
  private mutating func shiftedPort(_ rdr: RdrRule, _ ports: RdrPorts) throws(LoweringError) -> Expression {
    let matched: [ClosedRange<Int>]
    switch rdr.match {
    case .address(_, let range?) where range.lowNumber != 0:
      matched = [Int(ports.matchLow)...Int(max(ports.matchLow, ports.matchHigh))]
    case .fromTo(let fromTo) where fromTo.destination.port != nil:
      matched = acceptedPorts(fromTo.destination.port!)
    default:
      throw LoweringError(
        "lower.rdr-shift-every-port",
        "without a matched port, IPFilter adds \(ports.targetHigh) to every destination port (d becomes d + \(ports.targetHigh))",
        at: rdr.range,
        notes: [Note("write 'port = \(ports.targetLow)' for a fixed new port, or give the ports to match, e.g. 'port 80 -> … port \(ports.targetLow)'")])
    }
    let newPort = { (port: Int) in UInt64((port - Int(ports.matchLow) + Int(ports.targetHigh)) & 0xffff) }
    let all = matched.flatMap { $0 }
    if all.count == 1 { return .integer(newPort(all[0])) }
    let name = "rdr_\(ordinal)_ports"
    output.maps.append(NamedMap(name: name, key: [.service], data: [.service],
                                elements: all.map { MapElement(.integer(UInt64($0)), .integer(newPort($0))) }))
    return .lookup(key: .selector(.payload(PayloadField(.th, .dport))), map: .named(name))
  }

  // MARK: - Reflection

  /// NAT reflection (hairpin): the same translation for clients arriving on any other
  /// interface, and a masquerade so that the server's replies come back through the router.
  mutating func reflectedRule(_ rdr: RdrRule, matches: Matches, statements: [Statement]) throws(LoweringError) -> NFTModel.Rule? {
    guard let inbound = try interfaces.linuxName(rdr.interfaces.inbound) else {
      warn("lower.reflection-any-interface", "no reflection for an rdr on any interface: inside and outside cannot be told apart",
           at: rdr.interfaces.range)
      return nil
    }
    let external = rdr.destinationAddress
    guard case .network(let network) = external.kind, network.isHost, network.address.bits != 0 else {
      warn("lower.reflection-needs-address", "no reflection for an rdr whose destination is not one address",
           at: external.range, notes: [Note("reflection redirects inside clients that connect to the external address")])
      return nil
    }
    var reflected = matches.all
    reflected.removeFirst()
    reflected.insert(Match(.meta(.iifname), .notEqual, .string(inbound)), at: 0)

    var masquerade = Matches(family: family, vantage: .originalTuple)
    masquerade.interface(inbound, .iifname, negated: true)
    masquerade.network(network.address, mask: network.maskBits, .destination)
    masquerade.transport(rdr.ruleProtocol)
    if let (low, high) = rdr.matchedPortRange {
      masquerade.ports(low, high, .destination)
    } else if case .fromTo(let fromTo) = rdr.match, let test = fromTo.destination.port {
      try masquerade.port(test, .destination)
    }
    masquerade.append(Match(.conntrack(.status), .symbol("dnat")))
    output.reflection.append(rule(masquerade, [.nat(NATStatement(.masquerade))]))
    return NFTModel.Rule(matches: reflected, statements: statements, origin: origin)
  }
}
