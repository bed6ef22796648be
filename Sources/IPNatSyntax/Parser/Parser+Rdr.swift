import IPNatDiagnostics

extension Parser {
  /// ```
  /// rdr-rule = "rdr" ifaces rdr-lhs "->" new-dst [ rdr-port ] [ proto-spec ] rdr-opts [ ";" ] ;
  /// rdr-lhs  = address [ "port" portpair ] | rdr-fromto ;
  /// rdr-port = "port" portpair | "port" "=" port ;
  /// ```
  mutating func parseRdrRule() throws -> RdrRule {
    let keyword = advance()
    let interfaces = try parseInterfaces()
    let match = try parseRdrMatch()
    try expect(.arrow, "after the address to redirect")
    let target = try parseRdrTarget()
    var targetPort: RdrRule.TargetPort?
    if current.kind == .number, !current.startsLine, let number = Int(text(current)), number > 255 {
      // Not a protocol number: a new port without its keyword.
      let insertion = SourceRange(start: current.range.start, end: current.range.start)
      report(.error("parse.missing-port-keyword", "expected 'port' before the new port: did you mean 'port \(number)'?",
                    at: current.range, fixIts: [FixIt("the keyword IPFilter expects", replacing: insertion, with: "port ")]))
      throw ParseAbort()
    }
    if skip(.port) {
      context.usedPortKeyword = true
      targetPort = skip(.equals) ? .fixed(try parsePort("the new destination port")) :
        .range(try parsePortRange("the new destination port"))
    }
    let protocolClause = atProtocol() ? try parseProtocol() : nil
    let options = try parseOptions(for: .rdr)
    _ = skip(.semicolon)
    // The checks read the parts before the rule is made of them: a rule passed to a check was
    // copied whole, once per check. The rule then takes the parts over (`consume`): made of
    // `let`s that live on, it copied each.
    let ruleProtocol = rdrProtocol(protocolClause, proxy: options.proxy)
    if case .clause(let proxy) = options.proxy, case .fromTo(let fromTo) = match {
      checkProxyPort(proxy, against: fromTo)
    }
    var rule = RdrRule(
      interfaces: consume interfaces, family: .inet, match: consume match, target: consume target,
      targetPort: consume targetPort, protocolClause: consume protocolClause, ruleProtocol: ruleProtocol,
      options: options.options, proxy: options.proxy, range: range(from: keyword.range.start))
    rule.family = settleFamily(of: &rule)
    checkRdrTarget(rule.target, family: rule.family)
    // Moved out, not copied: the checks above borrowed it, and the compiler copied it then.
    return consume rule
  }

  private mutating func parseRdrMatch() throws -> RuleMatch {
    if at(.from) || at(.bang) { return .fromTo(try parseFromTo(negatable: .source)) }
    let address = try parseAddress("the destination address to redirect")
    var ports: PortRange?
    if skip(.port) {
      context.usedPortKeyword = true
      ports = try parsePortRange("a destination port or port range")
    }
    return .address(address, ports: ports)
  }

  /// ```
  /// new-dst = host "," host | address | [ "range" ] host "-" host ;
  /// ```
  private mutating func parseRdrTarget() throws -> RdrRule.Target {
    let address: Address
    switch try parseTargetAddress("the new destination address") {
    case .range(let low, let high, let keyword): return .range(low, high, keyword: keyword)
    case .address(let parsed): address = parsed
    }
    guard case .network(let first) = address.kind, skip(.comma) else { return .address(address) }
    let second = try parseNetwork("the second new destination address")
    for end in [first, second] where end.mask != nil {
      error("parse.masked-split", "the two targets of 'A,B' are single hosts and take no netmask", at: end.range)
    }
    return .split(first, second)
  }

  /// The protocol of an rdr rule, after IPFilter's `setrdrifnames`.
  private mutating func rdrProtocol(_ protocolClause: ProtocolClause?, proxy: RdrRule.Proxy?) -> RuleProtocol {
    var spec = protocolClause?.spec
    if case .clause(let proxy) = proxy {
      // IPFilter lets the map-style proxy overwrite the rule's protocol; a conflict is a mistake.
      if let clause = protocolClause, clause.spec != proxy.protocolClause.spec {
        error("parse.protocol-set-twice", "the rule's protocol differs from its proxy's protocol",
              at: clause.range, notes: [Note("the proxy's protocol is given here", at: proxy.protocolClause.range)])
      }
      spec = proxy.protocolClause.spec
    }
    if let spec { return RuleProtocol(spec) }
    return context.usedPortKeyword ? .tcpUDP : .any
  }

  /// "dest ip bitmask not /32": an rdr sends each session to one host, or keeps the address (0/0).
  private mutating func checkRdrTarget(_ target: RdrRule.Target, family: IPFamily) {
    // Most targets are told apart by a pure function: a target handed whole to a mutating one
    // is copied first, and every rdr rule has one.
    guard Self.targetNeedsCheck(target) else { return }
    guard case .address(let address) = target else { return }
    switch address.kind {
    case .network(let network) where !network.isHost && network.maskBits != 0:
      error("parse.rdr-target-not-host",
            "the new destination must be a single host (/\(family.width)) or 0/0, not a network",
            at: address.range, notes: [Note("use 'A,B' to alternate between two hosts")])
    case .lookup(let lookup):
      error("parse.rdr-target-lookup", "'\(lookup.kind.rawValue)/…' cannot be the new destination of an rdr rule",
            at: lookup.range)
    default:
      break
    }
  }

  /// Whether the target is a network that is neither a host nor 0/0, or a lookup table.
  private static func targetNeedsCheck(_ target: RdrRule.Target) -> Bool {
    guard case .address(let address) = target else { return false }
    switch address.kind {
    case .network(let network): return !network.isHost && network.maskBits != 0
    case .lookup: return true
    case .any: return false
    }
  }
}
