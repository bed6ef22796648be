import IPNatDiagnostics

extension Parser {
  /// ```
  /// ifaces = ifname [ "," ifname ] [ "inet" | "inet6" ] ;
  /// ifname = word ;   (* "*" or "-" = any interface *)
  /// ```
  mutating func parseInterfaces() throws -> Interfaces {
    let start = current.range.start
    let first = try parseInterfaceName()
    var second: InterfaceName?
    if skip(.comma) { second = try parseInterfaceName() }
    let interfaces = Interfaces(first: first, second: second, range: range(from: start))
    try parseFamilyKeyword()
    return interfaces
  }

  private mutating func parseInterfaceName() throws -> InterfaceName {
    if let minus = take(.minus) { return InterfaceName(name: "-", range: minus.range) }
    if at(.from) || at(.bang) {
      // Firewall Builder writes `rdr  from …` for a rule that names no interface: IPFilter
      // refuses it too.
      throw abort(expected: "an interface name", notes: [Note(
        "a rule names its interface first: where packets come in for rdr, where they go out for map; '*' for any")])
    }
    let name = try parseName("an interface name")
    return InterfaceName(name: name.value, range: name.range)
  }

  /// `inet` or `inet6`, which fixes the rule's address family.
  mutating func parseFamilyKeyword() throws {
    if let token = take(.inet) {
      context.explicitFamily = Located(value: .inet, range: token.range)
    } else if let token = take(.inet6) {
      context.explicitFamily = Located(value: .inet6, range: token.range)
    }
  }

  /// ```
  /// address = "any"
  ///         | host [ "/" ( number | ipaddr | hex ) ]
  ///         | host ( "mask" | "netmask" ) ( ipaddr | hex )
  ///         | ( "pool" | "hash" ) "/" ( number | word ) ;   (* only inside from/to *)
  /// ```
  mutating func parseAddress(_ what: String) throws -> Address {
    let start = current.range.start
    if let any = take(.any) { return Address(.any, range: any.range) }
    if at(.pool) || at(.hash) {
      let lookup = try parseLookup()
      if !context.insideFromTo {
        error("parse.lookup-outside-from-to",
              "'\(lookup.kind.rawValue)/…' can only be used in a from/to rule", at: lookup.range)
      }
      return Address(.lookup(lookup), range: lookup.range)
    }
    let network = try parseNetwork(what)
    return Address(.network(network), range: range(from: start))
  }

  /// `pool/N`, `hash/NAME`, `dstlist/…`.
  mutating func parseLookup() throws -> LookupReference {
    let keyword = advance()
    let kind: LookupReference.Kind = keyword.is(.pool) ? .pool : keyword.is(.hash) ? .hash : .dstlist
    try expect(.slash, "after '\(kind.rawValue)'")
    let name: LookupReference.Name
    if current.kind == .number {
      name = .number(try parseUInt32("a table number"))
    } else {
      name = .name(try parseName("a table number or name").value)
    }
    return LookupReference(kind: kind, name: name, range: range(from: keyword.range.start))
  }

  /// A host with an optional mask.
  mutating func parseNetwork(_ what: String) throws -> Network {
    let start = current.range.start
    let host = try parseHost(what)
    var mask: MaskSpelling?
    if let slash = take(.slash) {
      mask = try parseMask(keyword: slash, allowLength: true)
    } else if let keyword = take(.mask) ?? take(.netmask) {
      mask = try parseMask(keyword: keyword, allowLength: false)
    }
    let network = Network(host: host, mask: mask, range: range(from: start))
    // Remembers the first address or mask that implies a family, for rules without `inet6`.
    // Asked of a pure function: a network passed to a mutating one is copied first.
    if context.impliedFamily == nil, let family = Self.impliedFamily(of: network) {
      context.impliedFamily = Located(value: family, range: network.range)
    }
    return network
  }

  /// ```
  /// host = word | number | ipv4 | ipv6 ;
  /// ```
  /// Host names are resolved now, in the family known so far, as IPFilter does.
  mutating func parseHost(_ what: String) throws -> Host {
    // The token is taken by `advance()` rather than copied from `current`: every rule has hosts.
    switch current.kind {
    case .number:
      let range = current.range
      return Host(spelling: .number(try parseUInt32("an address")), range: range)
    case .dotted:
      let token = advance()
      guard let value = lexer.withSpelling(of: token, IPAddress.parseIPv4(utf8:)) else {
        error("parse.invalid-ipv4", "'\(text(token).abbreviated)' is not an IPv4 address (four numbers from 0 to 255)",
              at: token.range)
        return Host(spelling: .ipv4(0), range: token.range)
      }
      return Host(spelling: .ipv4(value), range: token.range)
    case .ipv6:
      let token = advance()
      return Host(spelling: .ipv6(lexer.ipv6Value(of: token)), range: token.range)
    case .word where current.keyword == nil, .quoted:
      let token = advance()
      let name = text(token)
      return Host(spelling: .name(name, resolved: resolveHostName(name, of: token)), range: token.range)
    default:
      throw abort(expected: what)
    }
  }

  /// `name`: the text of `token`.
  private mutating func resolveHostName(_ name: String, of token: Token) -> IPAddress {
    let family = context.familySoFar
    // An undefined `$name` stays a word so parsing can go on; it has had its error already.
    if token.kind == .word, name.hasPrefix("$") { return IPAddress(family: family ?? .inet, bits: 0) }
    switch options.hostResolver.resolve(name, family: family) {
    case .resolved(let address):
      return address
    case .notFound:
      error("parse.unknown-host", "cannot resolve host name '\(name.abbreviated)'", at: token.range,
            notes: [Note("IPFilter would silently use 0/32 (the interface's address) instead")])
    case .refused:
      error("parse.host-name", "'\(name.abbreviated)' is a host name, and --no-resolve forbids looking it up",
            at: token.range, notes: [Note("write the address itself, so the rule does not depend on DNS")])
    }
    return IPAddress(family: family ?? .inet, bits: 0)
  }

  /// The mask after `/`, `mask` or `netmask`.
  private mutating func parseMask(keyword: Token, allowLength: Bool) throws -> MaskSpelling {
    let token = current
    let form: MaskSpelling.Form
    switch token.kind {
    case .number where allowLength:
      let length = try parseUInt32("a prefix length")
      if length > 128 {
        error("parse.invalid-mask", "/\(length) is not a prefix length (at most 32 for IPv4, 128 for IPv6)",
              at: token.range)
      }
      form = .length(Int(min(length, 129)))
    case .dotted:
      advance()
      guard let value = lexer.withSpelling(of: token, IPAddress.parseIPv4(utf8:)) else {
        error("parse.invalid-ipv4", "'\(text(token).abbreviated)' is not a dotted netmask", at: token.range)
        return MaskSpelling(form: .ipv4(UInt32.max), usesKeyword: !allowLength, range: token.range)
      }
      form = .ipv4(value)
    case .ipv6:
      advance()
      form = .ipv6(lexer.ipv6Value(of: token))
    case .hex:
      advance()
      let digits = text(token)
      guard digits.count <= 10, let value = UInt32(digits.dropFirst(2), radix: 16) else {
        error("parse.invalid-mask", "'\(digits.abbreviated)' is longer than an IPv4 netmask", at: token.range)
        return MaskSpelling(form: .hex(UInt32.max), usesKeyword: !allowLength, range: token.range)
      }
      form = .hex(value)
    default:
      throw abort(expected: allowLength ? "a prefix length or netmask after '/'"
                                        : "a netmask after '\(text(keyword))'")
    }
    return MaskSpelling(form: form, usesKeyword: !allowLength, range: keyword.range.extended(to: token.range))
  }

  /// The family a network's host or mask implies, if any.
  private static func impliedFamily(of network: borrowing Network) -> IPFamily? {
    if let family = network.host.impliedFamily { return family }
    switch network.mask?.form {
    case .ipv4?, .hex?: return .inet
    case .ipv6?: return .inet6
    case .length(let length)?: return length > 32 ? .inet6 : nil
    case nil: return nil
    }
  }

  /// A translation target: an address, or an address range.
  enum TargetAddress {
    case address(Address)
    case range(Network, Network, keyword: Flag?)
  }

  /// `address | [ "range" ] host "-" host`, the target of map, rdr and rewrite rules.
  mutating func parseTargetAddress(_ what: String) throws -> TargetAddress {
    if let keyword = take(.range) {
      let first = try parseNetwork("the first address of the range")
      let (low, high, flag) = try parseRangeEnd(after: first, keyword: keyword)
      return .range(low, high, keyword: flag)
    }
    let address = try parseAddress(what)
    if case .network(let first) = address.kind, at(.minus) {
      let (low, high, flag) = try parseRangeEnd(after: first, keyword: nil)
      return .range(low, high, keyword: flag)
    }
    return .address(address)
  }

  /// `[ "range" ] host "-" host`, after an optional `range` keyword has been taken.
  private mutating func parseRangeEnd(after first: Network, keyword: Token?) throws -> (Network, Network, Flag?) {
    if first.mask != nil {
      error("parse.masked-range", "the ends of an address range cannot have netmasks", at: first.range)
    }
    try expect(.minus, "between the two ends of the range")
    let second = try parseNetwork("the last address of the range")
    if second.mask != nil {
      error("parse.masked-range", "the ends of an address range cannot have netmasks", at: second.range)
    }
    return (first, second, keyword.map { Flag(range: $0.range) })
  }

  // MARK: - from/to

  /// ```
  /// map-fromto = "from" object [ "!" ] "to" [ "!" ] object ;     (* only the destination may be negated *)
  /// rdr-fromto = [ "!" ] "from" [ "!" ] object "to" object ;     (* only the source may be negated *)
  /// object     = address [ "port" port-test ] ;
  /// ```
  mutating func parseFromTo(negatable allowed: FromTo.Negation) throws -> FromTo {
    let start = current.range.start
    context.insideFromTo = true
    defer { context.insideFromTo = false }
    var negations: [(FromTo.Negation, Token)] = []
    if let bang = take(.bang) { negations.append((.source, bang)) }
    try expect(.from, "to start the source")
    if let bang = take(.bang) { negations.append((.source, bang)) }
    let source = try parseEndpoint("the source address")
    if let bang = take(.bang) { negations.append((.destination, bang)) }
    try expect(.to, "after the source")
    if let bang = take(.bang) { negations.append((.destination, bang)) }
    let destination = try parseEndpoint("the destination address")

    var negation = FromTo.Negation.none
    if negations.count > 1 {
      error("parse.double-negation", "only one side of from/to can be negated", at: negations[1].1.range)
    } else if let (side, bang) = negations.first {
      if side == allowed {
        negation = side
      } else {
        let kind = allowed == .source ? "an rdr rule" : "a map rule"
        let other = allowed == .source ? "source" : "destination"
        error("parse.invalid-negation", "only the \(other) of \(kind) can be negated", at: bang.range)
      }
    }
    return FromTo(source: source, destination: destination, negation: negation, range: range(from: start))
  }

  private mutating func parseEndpoint(_ what: String) throws -> Endpoint {
    let start = current.range.start
    let address = try parseAddress(what)
    var test: PortTest?
    if skip(.port) {
      context.usedPortKeyword = true
      test = try parsePortTest()
    }
    return Endpoint(address: address, port: test, range: range(from: start))
  }
}
