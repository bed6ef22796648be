import IPNatDiagnostics

extension Parser {
  /// ```
  /// map-rule  = ( "map" | "bimap" ) ifaces map-lhs "->" new-src [ map-xlate ] map-opts [ ";" ] ;
  /// map-lhs   = address | map-fromto ;
  /// map-xlate = portmap | icmpidmap | map-proxy ;
  /// ```
  mutating func parseMapRule() throws -> MapRule {
    let keyword = advance()
    let kind: MapRule.Kind = keyword.is(.bimap) ? .bimap : .map
    let interfaces = try parseInterfaces()
    let source: MapRule.Source =
      at(.from) || at(.bang)
      ? .fromTo(try parseFromTo(negatable: .destination))
      : .address(try parseAddress("the source address to translate"))
    try expect(.arrow, "after the source address")
    let target = try parseMapTarget()
    if let port = take(.port) {
      report(.error("parse.map-target-port", "map rules take no port on the right; did you mean rdr?",
                    at: port.range,
                    notes: [Note("rdr changes the destination address and port; map changes the source, and its "
                                   + "ports with 'portmap'")]))
      throw ParseAbort()
    }
    let translation = try parseMapTranslation()
    let options = try parseOptions(for: .map)
    var rule = MapRule(
      kind: kind, interfaces: interfaces, family: .inet, source: source, target: target,
      translation: translation, options: options.options, protocolClause: options.protocolClause,
      ruleProtocol: .any, range: keyword.range)
    rule.ruleProtocol = mapProtocol(clause: options.protocolClause, translation: translation)
    if case .proxy(let proxy) = translation, case .fromTo(let fromTo) = source {
      checkProxyPort(proxy, against: fromTo)
    }
    if case .icmpIDMap(let map) = translation, case .fromTo(let fromTo) = source {
      warning("parse.icmpidmap-ignores-from-to",
              "with icmpidmap, IPFilter ignores from/to and matches on the source address alone",
              at: fromTo.range, notes: [Note("icmpidmap is here", at: map.range)])
    }
    if case .range = target, case .icmpIDMap(let map) = translation {
      error("parse.icmpidmap-range", "icmpidmap cannot be used with an address range (IPFilter loses the range)",
            at: map.range)
    }
    take(.semicolon)
    rule.range = range(from: keyword.range.start)
    rule.family = settleFamily(of: &rule)
    if rule.family == .inet6, case .icmpIDMap = translation { rule.ruleProtocol = .number(58) }
    return consume rule
  }

  /// ```
  /// new-src = address | [ "range" ] host "-" host ;
  /// ```
  private mutating func parseMapTarget() throws -> MapRule.Target {
    switch try parseTargetAddress("the new source address") {
    case .address(let address): .address(address)
    case .range(let low, let high, let keyword): .range(low, high, keyword: keyword)
    }
  }

  private mutating func parseMapTranslation() throws -> MapRule.Translation? {
    if at(.portmap) { return .portmap(try parsePortmap()) }
    if at(.icmpidmap) { return .icmpIDMap(try parseICMPIDMap()) }
    // `proxy` without `port` after it is the next statement: a DNS proxy configuration.
    if at(.proxy), peek().is(.port) {
      let start = advance().range.start
      return .proxy(try parseProxyClause(from: start))
    }
    return nil
  }

  /// ```
  /// portmap = "portmap" l4 portpair [ "sequential" ]
  ///         | "portmap" portpair l4 [ "sequential" ]
  ///         | "portmap" l4 "auto" [ "sequential" ] ;
  /// l4      = "tcp" | "udp" | "tcpudp" | "tcp" "/" "udp" ;
  /// ```
  private mutating func parsePortmap() throws -> Portmap {
    let keyword = advance()
    let start = keyword.range.start
    let protocolClause: ProtocolClause
    let ports: Portmap.Ports
    if at(.tcp) || at(.udp) || at(.tcpudp) {
      protocolClause = try parseProtocol()
      if let auto = take(.auto) {
        ports = .auto(Flag(range: auto.range))
      } else {
        ports = .range(try parsePortRange("a port range or 'auto' after the protocol"))
      }
    } else if current.kind == .number || current.isName {
      ports = .range(try parsePortRange("a port range"))
      guard at(.tcp) || at(.udp) || at(.tcpudp) else { throw abort(expected: "tcp, udp or tcp/udp") }
      protocolClause = try parseProtocol()
    } else if current.startsLine || at(.semicolon) || current.kind == .endOfFile {
      // A bare `portmap` ends the rule: IPFilter refuses it too, and its own nat-setup document
      // has it. Report it at this rule, not at whatever the next line holds.
      let end = SourceRange(start: keyword.range.end, end: keyword.range.end)
      report(.error("parse.bare-portmap", "'portmap' needs a protocol and ports", at: keyword.range,
                    fixIts: [FixIt("translate every TCP and UDP port", replacing: end, with: " tcp/udp auto")]))
      throw ParseAbort()
    } else {
      throw abort(expected: "tcp, udp or tcp/udp after 'portmap'",
                  notes: at(.auto) ? [Note("write 'portmap tcp/udp auto': the protocol comes first")] : [])
    }
    let sequential = take(.sequential).map { Flag(range: $0.range) }
    return Portmap(protocolClause: protocolClause, ports: ports, sequential: sequential, range: range(from: start))
  }

  /// ```
  /// icmpidmap = "icmpidmap" ( "icmp" | "ipv6-icmp" ) portpair [ "sequential" ] ;
  /// ```
  private mutating func parseICMPIDMap() throws -> ICMPIDMap {
    let start = advance().range.start
    guard current.isName, ["icmp", "ipv6-icmp", "icmpv6"].contains(text(current).lowercased()) else {
      throw abort(expected: "'icmp' or 'ipv6-icmp' after 'icmpidmap'")
    }
    let name = advance()
    let ids = try parsePortRange("a range of ICMP ids")
    let sequential = take(.sequential).map { Flag(range: $0.range) }
    return ICMPIDMap(protocolName: Located(value: text(name), range: name.range), ids: ids,
                     sequential: sequential, range: range(from: start))
  }

  /// ```
  /// map-proxy = "proxy" "port" port word "/" protocol [ "config" word ] ;
  /// ```
  /// Called after `proxy` has been consumed; also the map-style proxy of rdr rules.
  mutating func parseProxyClause(from start: Int) throws -> ProxyClause {
    try expect(.port, "after 'proxy'")
    context.usedPortKeyword = true
    let port = try parsePort("the port the proxy handles")
    let label = try parseName("the proxy's name, such as ftp")
    try expect(.slash, "between the proxy's name and its protocol")
    let protocolClause = try parseProtocol()
    var config: Located<String>?
    if skip(.config) { config = try parseName("the name of the proxy's configuration") }
    return ProxyClause(port: port, label: label, protocolClause: protocolClause, config: config,
                       range: range(from: start))
  }

  /// IPFilter's check that `proxy port P` agrees with a `to … port = Q` test.
  func proxyPortConflict(_ proxy: ProxyClause, _ fromTo: FromTo) -> Diagnostic? {
    guard let test = fromTo.destination.port else { return nil }
    let tested: Port
    switch test.kind {
    case .compare(_, let port): tested = port
    case .range(_, let port, _): tested = port
    }
    guard tested.number != proxy.port.number else { return nil }
    return .error("parse.proxy-port-mismatch",
                  "the proxy port \(proxy.port.number) differs from the destination port \(tested.number) tested in from/to",
                  at: proxy.port.range, notes: [Note("the destination port is tested here", at: test.range)])
  }

  mutating func checkProxyPort(_ proxy: ProxyClause, against fromTo: FromTo) {
    if let conflict = proxyPortConflict(proxy, fromTo) { report(conflict) }
  }

  /// The protocol of a map rule, after IPFilter's `setmapifnames`: a portmap, proxy or
  /// icmpidmap sets it; a protocol among the options as well would be "protocol set twice".
  private mutating func mapProtocol(clause: ProtocolClause?, translation: MapRule.Translation?) -> RuleProtocol {
    var implied: (spec: ProtocolSpec, what: String)?
    switch translation {
    case .portmap(let portmap): implied = (portmap.protocolClause.spec, "portmap")
    case .proxy(let proxy): implied = (proxy.protocolClause.spec, "proxy")
    case .icmpIDMap: implied = (.number(1), "icmpidmap")
    case nil: break
    }
    if let clause, let implied {
      error("parse.protocol-set-twice", "the protocol is set twice: \(implied.what) already gives it",
            at: clause.range)
    }
    if let spec = implied?.spec ?? clause?.spec { return RuleProtocol(spec) }
    return context.usedPortKeyword ? .tcpUDP : .any
  }

  /// ```
  /// mapblock-rule = "map-block" ifaces address "->" address [ "ports" ( number | "auto" ) ] map-opts [ ";" ] ;
  /// ```
  mutating func parseMapBlockRule() throws -> MapBlockRule {
    let keyword = advance()
    let interfaces = try parseInterfaces()
    let source = try parseAddress("the internal network")
    try expect(.arrow, "after the internal network")
    let target = try parseAddress("the external network")
    var ports: MapBlockRule.Ports?
    if skip(.ports) {
      if let auto = take(.auto) {
        ports = .auto(Flag(range: auto.range))
      } else {
        let token = current
        ports = .count(Located(value: try parseUInt32("a number of ports or 'auto'"), range: token.range))
      }
    }
    let options = try parseOptions(for: .map)
    take(.semicolon)
    var rule = MapBlockRule(
      interfaces: interfaces, family: .inet, source: source, target: target, ports: ports,
      options: options.options, protocolClause: options.protocolClause,
      ruleProtocol: RuleProtocol(options.protocolClause?.spec), range: range(from: keyword.range.start))
    rule.family = settleFamily(of: &rule)
    return consume rule
  }

  /// ```
  /// no-rule = "no" ( "map" | "bimap" ) ifaces map-lhs [ proto-spec ] ";"
  ///         | "no" "map-block" ifaces address [ proto-spec ] ";"
  ///         | "no" "rdr" ifaces rdr-lhs [ proto-spec ] ";" ;
  /// ```
  mutating func parseNoRule() throws -> NoRule {
    let start = advance().range.start
    let kind: NoRule.Kind
    switch current.keyword {
    case .map: kind = .map
    case .bimap: kind = .bimap
    case .mapBlock: kind = .mapBlock
    case .rdr: kind = .rdr
    default: throw abort(expected: "map, bimap, map-block or rdr after 'no'")
    }
    advance()
    let interfaces = try parseInterfaces()
    let match: RuleMatch
    if kind != .mapBlock, at(.from) || at(.bang) {
      match = .fromTo(try parseFromTo(negatable: kind == .rdr ? .source : .destination))
    } else {
      let address = try parseAddress(kind == .rdr ? "the destination address" : "the source address")
      var ports: PortRange?
      if kind == .rdr, skip(.port) {
        context.usedPortKeyword = true
        ports = try parsePortRange("a destination port")
      }
      match = .address(address, ports: ports)
    }
    let protocolClause = atProtocol() ? try parseProtocol() : nil
    try expect(.semicolon, "at the end of a 'no' rule (IPFilter requires it)")
    var ruleProtocol = RuleProtocol(protocolClause?.spec)
    if protocolClause == nil, context.usedPortKeyword { ruleProtocol = .tcpUDP }
    var rule = NoRule(kind: kind, interfaces: interfaces, family: .inet, match: match,
                      protocolClause: protocolClause, ruleProtocol: ruleProtocol, range: range(from: start))
    rule.family = settleFamily(of: &rule)
    return consume rule
  }
}
