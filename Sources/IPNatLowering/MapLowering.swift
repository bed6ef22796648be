import IPNatDiagnostics
import IPNatSemantics
import IPNatSyntax
import NFTModel

/// `map` and `bimap` (`ip_nat.c: ipf_nat_newmap`, `ipf_nat_newrdr`).
extension RuleLowering {
  mutating func lowerMap(_ map: MapRule) throws(LoweringError) {
    let outbound = try interfaces.linuxName(map.interfaces.outbound)
    let precedence = map.sourceAddress.precedenceLength(in: family)
    func plainMatches() throws(LoweringError) -> Matches {
      var matches = Matches(family: family)
      matches.interface(outbound, .oifname)
      try sourceMatches(map, into: &matches)
      matches.transport(map.ruleProtocol)
      return matches
    }
    if let network = plainSource(map) {
      let statement = try outboundTranslation(map)
      if let candidate = try foldCandidate(.srcnat, interface: outbound, network: network, protocols: map.ruleProtocol,
                                           port: nil, statement, matches: plainMatches) {
        add(.srcnat, prefixLength: precedence, candidate)
      } else {
        add(.srcnat, prefixLength: precedence, rule(try plainMatches(), [statement]))
      }
    } else {
      var matches = try plainMatches()
      if case .proxy(let proxy) = map.translation, case .address = map.source {
        // A proxy rule without from/to applies only to connections to the proxy's port.
        matches.ports(proxy.port.number, proxy.port.number, .destination)
      }
      if let tag = map.options.tag { matches.append(Match(.meta(.mark), .integer(UInt64(try markValue(tag))))) }
      add(.srcnat, prefixLength: precedence, rule(matches, [try outboundTranslation(map)]))
    }

    if map.options.hasConnectionAttributes || map.translation?.isProxy == true {
      let pattern = try ConnectionPattern(map: map, interfaces: interfaces)
      try lowerConnectionAttributes(map.options, pattern: pattern)
      if case .proxy(let proxy) = map.translation {
        if proxy.label.value.lowercased() == "ipsec" {
          try lowerIPsecProxy(map, proxy, precedence: precedence)
        } else {
          try lowerProxy(proxy, pattern: pattern)
        }
      }
    } else {
      // The pattern would have checked the reply interface's name, which nothing else reads.
      _ = try interfaces.linuxName(map.interfaces.inbound)
    }
    if map.kind == .bimap { try lowerBimapInbound(map) }
  }

  /// The source network of a map whose rule matches only the interface, that network and the
  /// protocols (no `from … to`, tag or proxy), as a map element's key: see ``foldCandidate``.
  private func plainSource(_ map: MapRule) -> AddressPrefix? {
    guard case .address(let source) = map.source, map.options.tag == nil, map.translation?.isProxy != true else { return nil }
    return foldablePrefix(source)
  }

  /// The NAT statement of the outbound rule: a bimap between networks of one size maps each
  /// address to its partner.
  func outboundTranslation(_ map: MapRule) throws(LoweringError) -> Statement {
    let isOneToOne = map.kind == .bimap && oneToOnePrefixes(map) != nil
    return try isOneToOne ? oneToOneOutbound(map) : sourceTranslation(map)
  }

  /// `withPorts` false: the addresses alone, for a protocol without ports.
  func sourceMatches(_ map: MapRule, into matches: inout Matches, withPorts: Bool = true) throws(LoweringError) {
    switch map.source {
    case .address(let address):
      try matches.address(address, .source)
    case .fromTo(let fromTo):
      try matches.address(fromTo.source.address, .source)
      // IPFilter matches an icmpidmap rule on its source address alone (the parser warns).
      if case .icmpIDMap = map.translation { return }
      if withPorts, let test = fromTo.source.port { try matches.port(test, .source) }
      try matches.address(fromTo.destination.address, .destination, negated: fromTo.negation == .destination)
      if withPorts, let test = fromTo.destination.port { try matches.port(test, .destination) }
    }
  }

  // MARK: - The new source

  /// The NAT statement for a map rule's new source, its ports and icmp ids.
  private func sourceTranslation(_ map: MapRule) throws(LoweringError) -> Statement {
    let (ports, flags) = try newSourcePorts(map)
    switch map.target {
    case .range(let low, let high, _):
      guard low.address <= high.address else {
        throw LoweringError("lower.empty-range", "the address range is empty: \(low.address) comes after \(high.address)",
                            at: low.range)
      }
      // IPFilter's counter starts at the range's first address (see `poolExpression`).
      var pool = Expression.address(low.address)
      if ports != nil, let perAddress = portsPerAddress(map) {
        pool = countedAddresses(from: low.address, through: high.address, portsPerAddress: perAddress)
          ?? .addressRange(low.address, high.address)
      }
      return .nat(NATStatement(.snat, family: addressFamily, address: pool, port: ports, flags: flags))
    case .address(let address):
      switch address.kind {
      case .lookup: throw LoweringError.lookupTable(at: address.range)
      case .any:
        return keepSource(ports: ports, flags: flags)
      case .network(let network) where network.maskBits == 0:
        return keepSource(ports: ports, flags: flags)
      case .network(let network) where network.isHost && network.address.bits == 0:
        // 0/32: the primary address of the output interface, looked up per session.
        return .nat(NATStatement(.masquerade, port: ports, flags: flags))
      case .network(let network):
        let pool = try poolExpression(network, portsPerAddress: ports == nil ? nil : portsPerAddress(map))
        return .nat(NATStatement(.snat, family: addressFamily, address: pool, port: ports, flags: flags))
      }
    }
  }

  /// `-> 0/0`: the source address stays; with a portmap only the port changes, without one the
  /// rule still stops the search, as a session without translation does in IPFilter.
  private func keepSource(ports: Expression?, flags: [NATStatement.Flag]) -> Statement {
    guard let ports else { return .verdict(.accept) }
    return .nat(NATStatement(.snat, family: addressFamily, address: addressSelector(.source), port: ports, flags: flags))
  }

  /// The addresses IPFilter gives new sessions from a pool. Its per-rule counter starts at the
  /// network's first host (network + 1; a /32 is itself) and moves on only when a session's
  /// tuple collides, or, with a port range, when the port counter wraps (`ip_nat.c:
  /// ipf_nat_newmap`; IPFilter's tests n1, n2, n5 and n13).
  ///
  /// - Without a port range (`portsPerAddress` nil: no portmap, or `auto`, whose counter never
  ///   moves) every session gets the first host, so the rule gets it alone: on a collision the
  ///   kernel changes the port instead of the address, and the connection works.
  /// - With one, the counter's address in turn (`countedAddresses`), each for as many sessions
  ///   as the range has ports; a pool too large for that map gets the whole pool (less the
  ///   network and broadcast addresses), which the kernel spreads sessions over by hash.
  func poolExpression(_ network: Network, portsPerAddress: UInt32? = nil) throws(LoweringError) -> Expression {
    guard Netmask.prefixLength(of: network.maskBits, family: family) != nil else {
      throw LoweringError("lower.pool-mask", "a pool of new addresses needs a prefix mask, not \(IPAddress(family: family, bits: network.maskBits))",
                          at: network.range)
    }
    if network.isHost { return .address(network.address) }
    let first = network.address.advanced(by: 1)
    guard network.size > 2, let portsPerAddress else { return .address(first) }
    let last = network.lastAddress.advanced(by: UInt128.max)
    return countedAddresses(from: first, through: last, portsPerAddress: portsPerAddress) ?? .addressRange(first, last)
  }

  /// How many sessions each address of a pool serves before IPFilter's counter moves on: the
  /// size of the portmap's or icmpidmap's range. Nil where the counter never moves: no range,
  /// or `portmap … auto`.
  private func portsPerAddress(_ map: MapRule) -> UInt32? {
    let range: PortRange
    switch map.translation {
    case .portmap(let portmap):
      guard case .range(let ports) = portmap.ports else { return nil }
      range = ports
    case .icmpIDMap(let idMap):
      range = idMap.ids
    case .proxy, nil:
      return nil
    }
    guard range.lowNumber <= range.highNumber else { return nil }
    return UInt32(range.highNumber - range.lowNumber) + 1
  }

  /// The port (or icmp id) range and flags of the NAT statement. IPFilter picks a random port
  /// in the range, as nft's `random` flag does; with `sequential`, the rule's counter hands out
  /// the range in order from its low end (`countedPort`).
  private func newSourcePorts(_ map: MapRule) throws(LoweringError) -> (Expression?, [NATStatement.Flag]) {
    switch map.translation {
    case .portmap(let portmap):
      switch portmap.ports {
      case .range(let range):
        if portmap.sequential != nil { return (try sequentialPorts(range), []) }
        return (try portRange(range), [.random])
      case .auto:
        // Equal masks: one address per host, ports unchanged. Otherwise IPFilter gives each
        // host a block of 1024–65535; nft picks a free port from the whole of it.
        if let (lhs, rhs) = prefixLengths(map), lhs == rhs { return (nil, []) }
        return (.integerRange(1024, 65535), [])
      }
    case .icmpIDMap(let idMap):
      if idMap.sequential != nil { return (try sequentialPorts(idMap.ids), []) }
      return (try portRange(idMap.ids), [.random])
    case .proxy, nil:
      return (nil, [])
    }
  }

  private func sequentialPorts(_ range: PortRange) throws(LoweringError) -> Expression {
    _ = try portRange(range)
    return countedPort(from: range.lowNumber, through: range.highNumber)
  }

  private func portRange(_ range: PortRange) throws(LoweringError) -> Expression {
    guard range.lowNumber <= range.highNumber else {
      throw LoweringError("lower.empty-range", "the port range is empty: \(range.lowNumber) comes after \(range.highNumber)",
                          at: range.range)
    }
    return portExpression(range.lowNumber, range.highNumber)
  }

  private func prefixLengths(_ map: MapRule) -> (Int, Int)? {
    guard case .address(let target) = map.target, let (_, sourceMask) = map.sourceAddress.network(in: family),
      let (_, targetMask) = target.network(in: family),
      let sourceLength = Netmask.prefixLength(of: sourceMask, family: family),
      let targetLength = Netmask.prefixLength(of: targetMask, family: family)
    else { return nil }
    return (sourceLength, targetLength)
  }

  // MARK: - bimap

  /// A bimap whose two sides have the same prefix length maps 1:1, copying host bits both
  /// ways (`ip_nat.c: ipf_nat_newmap`, `ipf_nat_newrdr`). Returns the two networks.
  private func oneToOnePrefixes(_ map: MapRule) -> (inside: (IPAddress, UInt128), outside: (IPAddress, UInt128))? {
    guard case .address(let target) = map.target, let inside = map.sourceAddress.network(in: family),
      let outside = target.network(in: family), inside.mask == outside.mask, inside.mask != 0,
      Netmask.prefixLength(of: inside.mask, family: family) != nil, !(outside.address.bits == 0 && outside.mask == family.allOnes)
    else { return nil }
    return ((inside.address, inside.mask), (outside.address, outside.mask))
  }

  private func oneToOneOutbound(_ map: MapRule) throws(LoweringError) -> Statement {
    guard let (inside, outside) = oneToOnePrefixes(map) else { return try sourceTranslation(map) }
    return prefixTranslation(.snat, from: inside, to: outside, key: addressSelector(.source))
  }

  /// `snat ip prefix to ip saddr map { 10.0.2.0/24 : 203.0.113.0/24 }`, or a plain address for
  /// a single host.
  private func prefixTranslation(_ kind: NATStatement.Kind, from: (IPAddress, UInt128), to: (IPAddress, UInt128),
                                 key: Expression) -> Statement {
    if from.1 == family.allOnes {
      return .nat(NATStatement(kind, family: addressFamily, address: .address(to.0)))
    }
    let element = MapElement(prefixExpression(from.0, mask: from.1), prefixExpression(to.0, mask: to.1))
    return .nat(NATStatement(kind, family: addressFamily, mapsPrefix: true, address: .lookup(key: key, map: .inline([element]))))
  }

  /// The inbound half IPFilter derives by swapping the sides: packets to the new address go to
  /// the internal one. Unequal masks send everything to the internal network address, as
  /// IPFilter does; ports are never changed inbound.
  private mutating func lowerBimapInbound(_ map: MapRule) throws(LoweringError) {
    guard case .address(let target) = map.target else {
      throw LoweringError("lower.bimap-range", "a bimap to an address range has no inbound half IPFilter could derive",
                          at: map.range)
    }
    guard let outside = target.network(in: family) else { throw LoweringError.lookupTable(at: target.range) }
    if outside.mask == family.allOnes && outside.address.bits == 0 {
      warn("lower.bimap-interface-address",
           "the inbound half of a bimap to 0/\(family.width) matches only the zero address, so it never applies",
           at: target.range, notes: [Note("IPFilter derives the inbound rule from the literal 0/\(family.width)")])
      return
    }
    let inbound = try interfaces.linuxName(map.interfaces.inbound)
    var matches = Matches(family: family)
    matches.interface(inbound, .iifname)
    let inside: Address
    switch map.source {
    case .address(let address):
      inside = address
    case .fromTo(let fromTo):
      inside = fromTo.source.address
      // Swapped: the outside peer is now the source. IPFilter drops the `!` for this half.
      try matches.address(fromTo.destination.address, .source)
      if let test = fromTo.destination.port { try matches.port(test, .source) }
    }
    matches.network(outside.address, mask: outside.mask, .destination)
    matches.transport(map.ruleProtocol)
    guard let insideNetwork = inside.network(in: family) else { throw LoweringError.lookupTable(at: inside.range) }
    let statement: Statement =
      if insideNetwork.mask == 0 {
        .verdict(.accept)
      } else if let (inside, outside) = oneToOnePrefixes(map) {
        prefixTranslation(.dnat, from: outside, to: inside, key: addressSelector(.destination))
      } else {
        .nat(NATStatement(.dnat, family: addressFamily, address: .address(insideNetwork.address)))
      }
    add(.dstnat, prefixLength: target.precedenceLength(in: family), rule(matches, [statement]))
  }
}
