import IPAddressing
import IPNatSyntax

extension TableEntry {
  /// The entries of every rule, in file order: one per table the rule sits in.
  static func entries(of rules: [Rule]) -> [TableEntry] {
    rules.enumerated().flatMap { index, rule in entries(of: rule, index: index) }
  }

  static func entries(of rule: Rule, index: Int) -> [TableEntry] {
    let builder = EntryBuilder(rule: rule, index: index)
    switch rule {
    case .map(let map): return [builder.map(map.value), builder.bimapInbound(map.value)].compactMap { $0 }
    case .mapBlock(let block):
      return [builder.entry(.map, interface: block.interfaces.outbound, protocol: block.ruleProtocol,
                            key: block.source, tag: block.options.tag)].compactMap { $0 }
    case .rdr(let rdr): return [builder.rdr(rdr.value)].compactMap { $0 }
    case .no(let exception): return [builder.exception(exception.value)].compactMap { $0 }
    case .rewrite, .divert: return []
    }
  }
}

/// Builds the entries of one rule; `nil` whenever a part cannot be compared exactly.
private struct EntryBuilder {
  let rule: Rule
  let index: Int

  func map(_ map: MapRule) -> TableEntry? {
    let tag = map.options.tag
    // IPFilter rotates round-robin map rules too (but never a bimap).
    let roundRobin = map.kind == .map && map.options.roundRobin != nil
    switch map.source {
    case .address(let source):
      var destinationPorts = PortSet.all
      if case .proxy(let proxy) = map.translation {
        // A proxy rule without from/to applies only to connections to the proxy's port (`ip_nat.c: ipf_nat_checkout`,
        // `ipf_nat_checkin`).
        destinationPorts = .range(Int(proxy.port.number), Int(proxy.port.number))
      }
      return entry(.map, interface: map.interfaces.outbound, protocol: map.ruleProtocol, key: source,
                   destinationPorts: destinationPorts, tag: tag, roundRobin: roundRobin)
    case .fromTo(let fromTo):
      if case .icmpIDMap = map.translation {
        // IPFilter matches an icmpidmap rule on its source address alone (IPFilter's parser, `tools/ipnat_y.y`).
        return entry(.map, interface: map.interfaces.outbound, protocol: map.ruleProtocol,
                     key: fromTo.source.address, tag: tag, roundRobin: roundRobin)
      }
      guard fromTo.negation != .source else { return nil }
      return fromToEntry(.map, interface: map.interfaces.outbound, protocol: map.ruleProtocol, fromTo: fromTo,
                         key: fromTo.source, other: fromTo.destination, otherNegated: fromTo.negation == .destination,
                         tag: tag, roundRobin: roundRobin)
    }
  }

  /// The rdr half IPFilter derives from a bimap: inbound to the new address, back to the old.
  func bimapInbound(_ map: MapRule) -> TableEntry? {
    guard map.kind == .bimap, case .address = map.source, case .address(let target) = map.target else { return nil }
    return entry(.rdr, interface: map.interfaces.inbound, protocol: map.ruleProtocol, key: target)
  }

  func rdr(_ rdr: RdrRule) -> TableEntry? {
    switch rdr.match {
    case .address(let destination, _):
      let destinationPorts = rdr.matchedPortRange.map { PortSet.range(Int($0.low), Int($0.high)) } ?? .all
      return entry(.rdr, interface: rdr.interfaces.inbound, protocol: rdr.ruleProtocol, key: destination,
                   destinationPorts: destinationPorts, roundRobin: rdr.options.roundRobin != nil)
    case .fromTo(let fromTo):
      guard fromTo.negation != .destination else { return nil }
      return fromToEntry(.rdr, interface: rdr.interfaces.inbound, protocol: rdr.ruleProtocol, fromTo: fromTo,
                         key: fromTo.destination, other: fromTo.source, otherNegated: fromTo.negation == .source,
                         roundRobin: rdr.options.roundRobin != nil)
    }
  }

  func exception(_ exception: NoRule) -> TableEntry? {
    let table: LookupTable = exception.kind == .rdr ? .rdr : .map
    let interface = table == .rdr ? exception.interfaces.inbound : exception.interfaces.outbound
    switch exception.match {
    case .address(let address, let ports):
      var destinationPorts = PortSet.all
      if let ports, ports.lowNumber != 0 {
        destinationPorts = .range(Int(ports.lowNumber), Int(max(ports.lowNumber, ports.highNumber)))
      }
      return entry(table, interface: interface, protocol: exception.ruleProtocol, key: address,
                   destinationPorts: destinationPorts)
    case .fromTo(let fromTo):
      let (key, other) = table == .map ? (fromTo.source, fromTo.destination) : (fromTo.destination, fromTo.source)
      let otherNegation: FromTo.Negation = table == .map ? .destination : .source
      guard fromTo.negation == .none || fromTo.negation == otherNegation else { return nil }
      return fromToEntry(table, interface: interface, protocol: exception.ruleProtocol, fromTo: fromTo, key: key,
                         other: other, otherNegated: fromTo.negation == otherNegation)
    }
  }

  private func fromToEntry(
    _ table: LookupTable, interface: InterfaceName, protocol ruleProtocol: RuleProtocol, fromTo: FromTo,
    key: Endpoint, other: Endpoint, otherNegated: Bool, tag: Located<String>? = nil, roundRobin: Bool = false
  ) -> TableEntry? {
    guard let otherPrefix = AddressPrefix(other.address, family: rule.family) else { return nil }
    return entry(table, interface: interface, protocol: ruleProtocol, key: key.address,
                 otherAddress: AddressTest(prefix: otherPrefix, negated: otherNegated),
                 sourcePorts: fromTo.source.port.map(PortSet.init) ?? .all,
                 destinationPorts: fromTo.destination.port.map(PortSet.init) ?? .all,
                 tag: tag, roundRobin: roundRobin)
  }

  func entry(
    _ table: LookupTable, interface: InterfaceName, protocol ruleProtocol: RuleProtocol, key: Address,
    otherAddress: AddressTest? = nil, sourcePorts: PortSet = .all, destinationPorts: PortSet = .all,
    tag: Located<String>? = nil, roundRobin: Bool = false
  ) -> TableEntry? {
    guard let key = AddressPrefix(key, family: rule.family) else { return nil }
    return TableEntry(
      table: table, rule: rule, index: index, interface: interface.isWildcard ? nil : interface.name,
      family: rule.family, protocols: ProtocolSet(ruleProtocol), key: key, otherAddress: otherAddress,
      sourcePorts: sourcePorts, destinationPorts: destinationPorts,
      matchedTag: table == .map ? tag?.value : nil, roundRobin: roundRobin)
  }
}
