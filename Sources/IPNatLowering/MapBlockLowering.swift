import IPNatDiagnostics
import IPNatSemantics
import IPNatSyntax
import NFTModel

/// `map-block` (`ip_nat.c: ipf_nat_newmap`, `lib/nat_setgroupmap.c`): every internal address owns a fixed block of
/// ports on one external address. The blocks are computed here, exactly as IPFilter computes
/// them, and become one interval map.
extension RuleLowering {
  mutating func lowerMapBlock(_ rule: MapBlockRule) throws(LoweringError) {
    guard case .network(let inside) = rule.source.kind else {
      throw rule.source.kind == .any ? LoweringError.mapBlockTooLarge(rule.source.range) : .lookupTable(at: rule.source.range)
    }
    guard case .network(let outside) = rule.target.kind else {
      throw rule.target.kind == .any
        ? LoweringError("lower.map-block-any", "map-block needs an external network, not 'any'", at: rule.target.range)
        : .lookupTable(at: rule.target.range)
    }
    var matches = Matches(family: family)
    matches.interface(try interfaces.linuxName(rule.interfaces.outbound), .oifname)
    try matches.address(rule.source, .source)
    if let tag = rule.options.tag { matches.append(Match(.meta(.mark), .integer(UInt64(try markValue(tag))))) }
    let precedence = rule.source.precedenceLength(in: family)

    if family == .inet6 {
      // IPFilter compiles map-block out of its IPv6 code: the rule acts as a plain map (`ip_nat6.c`).
      matches.transport(rule.ruleProtocol)
      let statement = Statement.nat(NATStatement(.snat, family: .ip6, address: try poolExpression(outside)))
      add(.srcnat, prefixLength: precedence, self.rule(matches, [statement]))
    } else {
      let blocks = try PortBlocks(rule, inside: inside, outside: outside)
      try lowerBlocks(blocks, rule: rule, matches: matches, precedence: precedence)
    }
    let pattern = ConnectionPattern(family: family, outbound: try interfaces.linuxName(rule.interfaces.outbound),
                                    inbound: try interfaces.linuxName(rule.interfaces.inbound), source: rule.source,
                                    ruleProtocol: rule.ruleProtocol)
    try lowerConnectionAttributes(rule.options, pattern: pattern)
  }

  /// TCP and UDP get address and port block from one map; everything else gets the address
  /// only, from a second map keyed by ranges of internal addresses.
  private mutating func lowerBlocks(_ blocks: PortBlocks, rule: MapBlockRule, matches: Matches, precedence: Int) throws(LoweringError) {
    let numbers = rule.ruleProtocol.numbers
    let portProtocols = numbers.isEmpty ? [6, 17] : numbers.filter { $0 == 6 || $0 == 17 }
    let addressOnly = numbers.isEmpty || numbers.contains { $0 != 6 && $0 != 17 }
    let key = Expression.selector(.payload(PayloadField(.ip, .saddr)))

    if !portProtocols.isEmpty {
      if !options.target.concatenatedMapData {
        throw LoweringError("lower.json-concatenated-map",
                            "--format json cannot express map-block: nft 1.0.6 does not read maps of address and port from JSON",
                            at: rule.range, notes: [Note("use the default --format nft")])
      }
      let name = "mb_\(ordinal)"
      output.maps.append(NamedMap(name: name, key: [.ipv4Address], data: [.ipv4Address, .service], intervalData: true,
                                  elements: blocks.hostElements()))
      var portMatches = matches
      portMatches.transport(portProtocols.count == 2 ? .tcpUDP : .number(UInt8(portProtocols[0])))
      let nat = NATStatement(.snat, family: .ip, address: .lookup(key: key, map: .named(name)))
      add(.srcnat, prefixLength: precedence, self.rule(portMatches, [.nat(nat)]))
    }
    if addressOnly {
      let name = "mb_\(ordinal)_addr"
      output.maps.append(NamedMap(name: name, key: [.ipv4Address], data: [.ipv4Address], intervalKey: true,
                                  elements: blocks.addressElements()))
      var addressMatches = matches
      if !numbers.isEmpty { addressMatches.transport(rule.ruleProtocol) }
      let nat = NATStatement(.snat, family: .ip, address: .lookup(key: key, map: .named(name)))
      add(.srcnat, prefixLength: precedence, self.rule(addressMatches, [.nat(nat)]))
    }
  }
}

extension LoweringError {
  static func mapBlockTooLarge(_ range: SourceRange) -> LoweringError {
    LoweringError("lower.map-block-too-large",
                  "map-block from a network larger than /16 wraps IPFilter's 16-bit arithmetic: hosts would share ports and collide",
                  at: range, notes: [Note("split it into /16 (or smaller) map-block rules")])
  }
}

/// A map-block rule's networks with IPFilter's layout of them (``PortBlockLayout``): A internal
/// addresses share each external address, and each owns P ports.
struct PortBlocks {
  let inside: Network
  let outside: Network
  /// Internal addresses per external address.
  let addressesPerIP: Int
  /// Ports per internal address.
  let portsPerAddress: Int

  static let usablePorts = PortBlockLayout.usablePorts

  init(_ rule: MapBlockRule, inside: Network, outside: Network) throws(LoweringError) {
    let layout: PortBlockLayout
    do {
      layout = try PortBlockLayout(rule, inside: inside, outside: outside)
    } catch {
      switch error {
      case .notPrefixMasks:
        throw LoweringError("lower.map-block-mask", "map-block needs prefix masks on both sides", at: rule.range)
      case .equalMasks:
        throw LoweringError(
          "lower.map-block-equal-masks",
          "with equal prefix lengths IPFilter gives each host no ports, so every packet fails to translate and is blocked",
          at: rule.range, notes: [Note("use 'bimap' for a 1:1 mapping of two networks of the same size")])
      case .insideTooLarge:
        throw LoweringError.mapBlockTooLarge(inside.range)
      case .tooManyPorts(let count, let range):
        throw LoweringError("lower.map-block-ports",
                            "'ports \(count)' exceeds the \(Self.usablePorts) usable ports (IPFilter divides by zero)",
                            at: range)
      }
    }
    self.inside = inside
    self.outside = outside
    addressesPerIP = layout.addressesPerIP
    portsPerAddress = layout.portsPerAddress
  }

  private var hostCount: Int { Int(inside.size) }

  /// The external address internal host `index` maps to: base + ((i / A) masked to the host bits).
  private func externalAddress(_ index: Int) -> IPAddress {
    let hostMask = ~outside.maskBits & outside.family.allOnes
    return IPAddress(family: .inet, bits: outside.address.bits | (UInt128(index / addressesPerIP) & hostMask))
  }

  /// One element per internal address: `10.0.0.2 : 203.0.113.0 . 1528-1779`.
  func hostElements() -> [MapElement] {
    (0..<hostCount).map { index in
      let low = 1024 + portsPerAddress * (index % addressesPerIP)
      let ports = portExpression(UInt16(low), UInt16(low + portsPerAddress - 1))
      return MapElement(.address(inside.address.advanced(by: UInt128(index))),
                        .concatenation([.address(externalAddress(index)), ports]))
    }
  }

  /// Runs of internal addresses that share an external address: `10.0.0.0-10.0.0.255 : 203.0.113.0`.
  func addressElements() -> [MapElement] {
    var elements: [MapElement] = []
    var start = 0
    while start < hostCount {
      let external = externalAddress(start)
      var end = min(hostCount, (start / addressesPerIP + 1) * addressesPerIP)
      while end < hostCount && externalAddress(end) == external {
        end = min(hostCount, (end / addressesPerIP + 1) * addressesPerIP)
      }
      let first = inside.address.advanced(by: UInt128(start))
      let last = inside.address.advanced(by: UInt128(end - 1))
      elements.append(MapElement(first == last ? .address(first) : .addressRange(first, last), .address(external)))
      start = end
    }
    return elements
  }
}
