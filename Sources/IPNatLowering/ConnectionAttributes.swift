import IPNatDiagnostics
import IPNatSyntax
import NFTModel

/// The connections a NAT rule creates, as the forward chains can recognise them: by the
/// connection's original tuple (which neither translation changes) and the interface a packet
/// crosses in each direction.
struct ConnectionPattern {
  var family: IPFamily
  /// The interface the first packet crosses: leaving by it for map, arriving on it for rdr.
  var original: (name: String?, key: Selector.MetaKey)
  /// The interface replies cross.
  var reply: (name: String?, key: Selector.MetaKey)
  var source: (address: Address, port: PortTest?, negated: Bool)?
  var destination: (address: Address, port: PortTest?, negated: Bool)?
  /// rdr's `port LOW-HIGH` outside from/to.
  var destinationPorts: (UInt16, UInt16)?
  var ruleProtocol: RuleProtocol

  init(map: MapRule, interfaces: InterfaceNames) throws(LoweringError) {
    family = map.family
    original = (try interfaces.linuxName(map.interfaces.outbound), .oifname)
    reply = (try interfaces.linuxName(map.interfaces.inbound), .iifname)
    switch map.source {
    case .address(let address):
      source = (address, nil, false)
    case .fromTo(let fromTo):
      source = (fromTo.source.address, fromTo.source.port, false)
      destination = (fromTo.destination.address, fromTo.destination.port, fromTo.negation == .destination)
    }
    ruleProtocol = map.ruleProtocol
  }

  init(family: IPFamily, outbound: String?, inbound: String?, source: Address, ruleProtocol: RuleProtocol) {
    self.family = family
    original = (outbound, .oifname)
    reply = (inbound, .iifname)
    self.source = (source, nil, false)
    self.ruleProtocol = ruleProtocol
  }

  init(rdr: RdrRule, interfaces: InterfaceNames) throws(LoweringError) {
    family = rdr.family
    original = (try interfaces.linuxName(rdr.interfaces.inbound), .iifname)
    reply = (try interfaces.linuxName(rdr.interfaces.outbound), .oifname)
    switch rdr.match {
    case .address(let address, _):
      destination = (address, nil, false)
      destinationPorts = rdr.matchedPortRange
    case .fromTo(let fromTo):
      source = (fromTo.source.address, fromTo.source.port, fromTo.negation == .source)
      destination = (fromTo.destination.address, fromTo.destination.port, false)
    }
    ruleProtocol = rdr.ruleProtocol
  }

  enum Direction { case original, reply }

  /// Matches for packets of these connections travelling in `direction`, restricted to one
  /// transport protocol when `transport` is given (a `ct original proto-dst` test needs one).
  func matches(_ direction: Direction, transport: UInt8? = nil) throws(LoweringError) -> Matches {
    var matches = Matches(family: family, vantage: .originalTuple)
    let interface = direction == .original ? original : reply
    matches.interface(interface.name, interface.key)
    if let source {
      try matches.address(source.address, .source, negated: source.negated)
    }
    if let destination {
      try matches.address(destination.address, .destination, negated: destination.negated)
    }
    matches.transport(transport.map { RuleProtocol.number($0) } ?? ruleProtocol)
    if let test = source?.port { try matches.port(test, .source) }
    if let test = destination?.port { try matches.port(test, .destination) }
    if let (low, high) = destinationPorts { matches.ports(low, high, .destination) }
    return matches
  }
}

extension RuleOptions {
  /// Whether the forward chains do something for the rule's connections (`age`, `mssclamp`).
  var hasConnectionAttributes: Bool { age != nil || mssclamp != nil }
}

extension MapRule.Translation {
  var isProxy: Bool { if case .proxy = self { true } else { false } }
}

/// `age`, `mssclamp` and `proxy`: what the forward chains do for a rule's connections.
extension RuleLowering {
  mutating func lowerConnectionAttributes(_ options: RuleOptions, pattern: ConnectionPattern) throws(LoweringError) {
    if let age = options.age { try lowerAge(age, pattern: pattern) }
    if let mssclamp = options.mssclamp { try lowerMSSClamp(mssclamp, pattern: pattern) }
  }

  // MARK: - age

  /// `age F/R` as conntrack timeout objects. IPFilter's two numbers are idle timeouts after a
  /// packet in each direction; conntrack has per-state timeouts, so UDP gets F before a reply
  /// and R after, and TCP the longer of the two once established.
  /// nft 1.0.6 has timeout objects for TCP and UDP only.
  ///
  /// IPFilter reads a zero as "no age" for that direction: the default timeout stays
  /// (`ipf_nat_siocaddnat`), and its kernel refuses `age 0/N` outright (EINVAL).
  private mutating func lowerAge(_ written: Age, pattern: ConnectionPattern) throws(LoweringError) {
    let age = clamped(written)
    if age.forward == 0 {
      guard age.reverse == 0 else {
        throw LoweringError("lower.age-zero", "IPFilter refuses 'age 0/\(age.reverse)': a rule with a reply timeout needs a forward one",
                            at: age.range, notes: [Note("write 'age \(age.reverse)' for the same timeout in both directions")])
      }
      return
    }
    var transports = pattern.ruleProtocol.numbers
    if transports.isEmpty {
      transports = [6, 17]
      warn("lower.age-other-protocols",
           "'age' applies to this rule's TCP and UDP connections only; other protocols keep the kernel's timeouts",
           at: age.range, notes: [Note("nft has conntrack timeout objects for tcp and udp only")])
    }
    for transport in transports {
      guard let name = TransportProtocol(number: transport) else {
        throw LoweringError("lower.age-protocol",
                            "'age' cannot be expressed for protocol \(transport): nft has conntrack timeout objects for tcp and udp only",
                            at: age.range, notes: [Note("the kernel's timeout for such a protocol is a sysctl, e.g. net.netfilter.nf_conntrack_icmp_timeout")])
      }
      let objectName = "age_\(age.forward)_\(age.reverse)_\(name.rawValue)"
      let policy: [ConntrackTimeout.StateTimeout] =
        switch name {
        case .udp: [.init("unreplied", age.forward)] + (age.reverse == 0 ? [] : [.init("replied", age.reverse)])
        case .tcp: [.init("established", max(age.forward, age.reverse))]
        }
      output.objects.append(.conntrackTimeout(ConntrackTimeout(name: objectName, transport: name, family: .inet, policy: policy)))
      let matches = try pattern.matches(.original, transport: transport)
      output.connectionAttributes.append(rule(matches, [.setConntrackTimeout(objectName)]))
    }
  }

  /// The longest timeout every kernel keeps: it holds a conntrack timeout in 32-bit jiffies, so
  /// 2^32 milliseconds at 1000 Hz. A longer one wraps round silently (`age 4294967295` became
  /// 17,179,868 s at 250 Hz, and every reload saw a changed object).
  static let longestTimeoutSeconds: UInt32 = 4_294_967

  /// `age` within ``longestTimeoutSeconds``, with a warning when it was longer.
  private mutating func clamped(_ age: Age) -> Age {
    let limit = Self.longestTimeoutSeconds
    guard age.forward > limit || age.reverse > limit else { return age }
    warn("lower.age-too-long",
         "'age \(age.forward)/\(age.reverse)' is longer than the kernel keeps a timeout: these connections time out after \(limit) s (about 49 days) at most",
         at: age.range, notes: [Note("conntrack counts a timeout in 32-bit jiffies, up to 1000 a second")])
    var shorter = age
    shorter.forward = min(age.forward, limit)
    shorter.reverse = min(age.reverse, limit)
    return shorter
  }

  // MARK: - mssclamp

  /// MSS clamping on SYN and SYN-ACK, in both directions of the rule's connections, lowering
  /// only larger values, as IPFilter does (`ip_nat.c: ipf_nat_mssclamp`).
  private mutating func lowerMSSClamp(_ mssclamp: Located<UInt32>, pattern: ConnectionPattern) throws(LoweringError) {
    guard let size = UInt16(exactly: mssclamp.value) else {
      throw LoweringError("lower.mssclamp-size", "an MSS is a 16-bit value; \(mssclamp.value) is too large", at: mssclamp.range)
    }
    let numbers = pattern.ruleProtocol.numbers
    guard numbers.isEmpty || numbers.contains(6) else {
      warn("lower.mssclamp-not-tcp", "'mssclamp' does nothing: this rule applies to no TCP connection", at: mssclamp.range)
      return
    }
    let synFlags = Match(.bitwiseAnd(.selector(.payload(PayloadField(.tcp, .flags))), .bitwiseOr([.symbol("syn"), .symbol("rst")])),
                         .equal, .symbol("syn"))
    let larger = Match(.tcpMaxSegmentSize, .greater, .integer(UInt64(size)))
    for direction in [ConnectionPattern.Direction.original, .reply] {
      var matches = try pattern.matches(direction, transport: 6)
      matches.append(synFlags)
      matches.append(larger)
      output.mssclamp.append(rule(matches, [.setMaximumSegmentSize(size)]))
    }
  }

  // MARK: - proxy

  /// A kernel proxy becomes the conntrack helper of the same protocol, assigned explicitly
  /// (modern kernels no longer assign helpers by port).
  mutating func lowerProxy(_ proxy: ProxyClause, pattern: ConnectionPattern) throws(LoweringError) {
    try lowerProxy(label: proxy.label, port: proxy.port.number, pattern: pattern)
  }

  mutating func lowerProxy(label: Located<String>, port: UInt16, pattern: ConnectionPattern) throws(LoweringError) {
    let proxy = label.value.lowercased()
    guard let helper = KernelHelper(ipfilterProxy: proxy) else {
      throw LoweringError("lower.proxy-unavailable",
                          "Linux has no conntrack helper for IPFilter's '\(label.value)' proxy",
                          at: label.range, notes: KernelHelper.whyMissing(proxy) + [Note(KernelHelper.available)])
    }
    let transports = pattern.ruleProtocol.numbers
    guard transports == [helper.transport.number] else {
      throw LoweringError("lower.proxy-protocol", "the '\(label.value)' proxy works on \(helper.transport.rawValue) only",
                          at: label.range)
    }
    let name = "\(proxy)_helper"
    output.objects.append(.conntrackHelper(ConntrackHelper(name: name, type: helper.kernelName, transport: helper.transport,
                                                           family: .inet)))
    var matches = try pattern.matches(.original, transport: helper.transport.number)
    if pattern.destinationPorts == nil && pattern.destination?.port == nil {
      matches.ports(port, port, .destination)
    }
    output.connectionAttributes.append(rule(matches, [.setConntrackHelper(name)]))
  }

  /// `tag NAME`: on Linux a mark, so the name must be a number (decimal or 0x hex).
  func markValue(_ tag: Located<String>) throws(LoweringError) -> UInt32 {
    let text = tag.value.lowercased()
    let value = text.hasPrefix("0x") ? UInt32(text.dropFirst(2), radix: 16) : UInt32(text)
    guard let value else {
      throw LoweringError("lower.tag-not-number", "on Linux a tag is a packet mark, so it must be a number, not '\(tag.value)'",
                          at: tag.range, notes: [Note("map rules match 'meta mark'; rdr rules set 'ct mark' for filter rules to test"),
                                                   Note("write a number in quotes ('tag \"1\"') and set that mark where ipf.conf set the name")])
    }
    return value
  }
}

/// IPFilter's kernel proxies (`ip_proxy.c: ips_proxies`) that have a Linux conntrack helper
/// doing the same job: following the control connection and letting the connections it
/// announces through, translated.
struct KernelHelper {
  var kernelName: String
  var transport: TransportProtocol

  init?(ipfilterProxy label: String) {
    switch label {
    case "ftp": (kernelName, transport) = ("ftp", .tcp)
    case "tftp": (kernelName, transport) = ("tftp", .udp)
    case "irc": (kernelName, transport) = ("irc", .tcp)
    case "pptp": (kernelName, transport) = ("pptp", .tcp)
    // IPFilter's h323 proxy follows the call signalling (Q.931 over TCP, port 1720) and opens
    // the H.245 and media channels it announces: Linux's nf_conntrack_h323 does the same under
    // the name "Q.931".
    case "h323": (kernelName, transport) = ("Q.931", .tcp)
    default: return nil
    }
  }

  /// Which proxies can become helpers, for the note on one that cannot.
  static let available = "Linux has helpers for IPFilter's ftp, tftp, irc, pptp and h323 proxies; a map rule's ipsec proxy becomes a rule for ESP"

  /// Why a proxy IPFilter has has no helper: Linux's nearest helper does another job.
  static func whyMissing(_ label: String) -> [Note] {
    switch label {
    case "netbios":
      [Note("IPFilter's netbios proxy rewrites addresses inside NetBIOS datagrams; Linux's netbios-ns helper "
              + "only lets broadcast name-query replies in, which is another job")]
    case "ipsec":
      // Only an rdr rule's gets here: a map rule's becomes a rule for ESP (``lowerIPsecProxy``).
      [Note("on a map rule ipnat does the ipsec proxy's job, translating ESP beside IKE; the proxy translates "
              + "outbound ESP, which an rdr rule does not see")]
    case "rcmd", "raudio", "rpcbu", "rpcbt", "dns":
      [Note("no Linux conntrack helper follows this protocol")]
    default:
      []
    }
  }
}

extension TransportProtocol {
  init?(number: UInt8) {
    switch number {
    case 6: self = .tcp
    case 17: self = .udp
    default: return nil
    }
  }

  var number: UInt8 { self == .tcp ? 6 : 17 }
}
