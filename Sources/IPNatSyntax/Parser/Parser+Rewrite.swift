import IPNatDiagnostics

extension Parser {
  /// ```
  /// rewrite-rule = "rewrite" ( "in" | "out" ) "on" ifaces [ "proto" proto-spec ] map-fromto "->"
  ///                "src" rw-src [ rw-ports ] "dst" rw-dst [ rw-ports ] [ "purge" ] ";" ;
  /// rw-src       = address | [ "range" ] host "-" host ;
  /// rw-dst       = rw-src | "dstlist" "/" ( number | word ) ;
  /// rw-ports     = "," portpair | "port" "=" port ;
  /// ```
  mutating func parseRewriteRule() throws -> RewriteRule {
    let start = advance().range.start
    let (direction, interfaces, protocolClause) = try parseDirectionAndInterfaces()
    let match = try parseFromTo(negatable: .destination)
    try expect(.arrow, "after from/to")
    try expect(.src, "to start the new source")
    let source = try parseRewriteTarget(protocolClause: protocolClause, allowDstlist: false)
    try expect(.dst, "to start the new destination")
    let destination = try parseRewriteTarget(protocolClause: protocolClause, allowDstlist: true)
    let purge = take(.purge).map { Flag(range: $0.range) }
    try expect(.semicolon, "at the end of a rewrite rule (IPFilter requires it)")
    var rule = RewriteRule(
      direction: direction, interfaces: interfaces, family: .inet, protocolClause: protocolClause,
      ruleProtocol: RuleProtocol(protocolClause?.spec), match: match, source: source, destination: destination,
      purge: purge, range: range(from: start))
    if protocolClause == nil, context.usedPortKeyword { rule.ruleProtocol = .tcpUDP }
    rule.family = settleFamily(of: &rule)
    return consume rule
  }

  /// `( "in" | "out" ) "on" ifaces [ "proto" proto-spec ]`, shared by rewrite and divert.
  private mutating func parseDirectionAndInterfaces() throws -> (Located<Direction>, Interfaces, ProtocolClause?) {
    let direction: Located<Direction>
    if let token = take(.in) {
      direction = Located(value: .in, range: token.range)
    } else if let token = take(.out) {
      direction = Located(value: .out, range: token.range)
    } else {
      throw abort(expected: "'in' or 'out'")
    }
    try expect(.on, "after '\(direction.value.rawValue)'")
    let interfaces = try parseInterfaces()
    var protocolClause: ProtocolClause?
    if skip(.proto) { protocolClause = try parseProtocol() }
    return (direction, interfaces, protocolClause)
  }

  private mutating func parseRewriteTarget(protocolClause: ProtocolClause?, allowDstlist: Bool) throws
    -> RewriteRule.Target
  {
    let start = current.range.start
    let addresses: RewriteRule.Target.Addresses
    if allowDstlist, at(.dstlist) {
      addresses = .lookup(try parseLookup())
    } else {
      switch try parseTargetAddress("an address") {
      case .address(let address): addresses = .address(address)
      case .range(let low, let high, let keyword): addresses = .range(low, high, keyword: keyword)
      }
    }
    var ports: RewriteRule.Target.Ports?
    if let comma = take(.comma) {
      // IPFilter prints a fixed port as `,port = N`; accept that form back.
      if skip(.port) {
        try expect(.equals, "after 'port' (write 'port = N')")
        return RewriteRule.Target(addresses: addresses, ports: .fixed(try parsePort("a port")), range: range(from: start))
      }
      if protocolClause?.spec.carriesPorts != true {
        error("parse.ports-need-tcp-udp", "ports can only be rewritten for tcp or udp; add 'proto tcp' (or udp)",
              at: comma.range)
      }
      ports = .range(try parsePortRange("a port or port range"))
    } else if skip(.port) {
      try expect(.equals, "after 'port' (write 'port = N')")
      ports = .fixed(try parsePort("a port"))
    }
    return RewriteRule.Target(addresses: addresses, ports: ports, range: range(from: start))
  }

  /// ```
  /// divert-rule = "divert" ( "in" | "out" ) "on" ifaces [ "proto" proto-spec ] map-fromto "->"
  ///               "src" address "," port "dst" address "," port "udp" [ "purge" ] ";" ;
  /// ```
  mutating func parseDivertRule() throws -> DivertRule {
    let start = advance().range.start
    let (direction, interfaces, protocolClause) = try parseDirectionAndInterfaces()
    let match = try parseFromTo(negatable: .destination)
    try expect(.arrow, "after from/to")
    try expect(.src, "to start the encapsulating source")
    let source = try parseAddress("the encapsulating source address")
    try expect(.comma, "between the source address and port")
    let sourcePort = try parsePort("the encapsulating source port")
    try expect(.dst, "to start the encapsulating destination")
    let destination = try parseAddress("the encapsulating destination address")
    try expect(.comma, "between the destination address and port")
    let destinationPort = try parsePort("the encapsulating destination port")
    try expect(.udp, "after the destination (divert encapsulates in UDP)")
    let purge = take(.purge).map { Flag(range: $0.range) }
    try expect(.semicolon, "at the end of a divert rule (IPFilter requires it)")
    var rule = DivertRule(
      direction: direction, interfaces: interfaces, family: .inet, protocolClause: protocolClause, match: match,
      source: source, sourcePort: sourcePort, destination: destination, destinationPort: destinationPort,
      purge: purge, range: range(from: start))
    rule.family = settleFamily(of: &rule)
    for address in [rule.source, rule.destination] {
      if case .network(let network) = address.kind, network.isHost { continue }
      error("parse.divert-not-host", "divert encapsulates to single hosts: use a /\(rule.family.width) address",
            at: address.range)
    }
    return consume rule
  }
}
