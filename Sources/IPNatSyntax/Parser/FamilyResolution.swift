import IPNatDiagnostics

/// Anything holding networks whose meaning depends on the rule's family: `0/32` is IPv4's
/// "interface address" shorthand but `::/32` in an inet6 rule, and `/64` is only valid in IPv6.
protocol NetworkContainer {
  mutating func forEachNetwork(_ body: (inout Network) -> Void)
}

extension Parser {
  /// Decides the rule's family (the `inet`/`inet6` keyword, else the first address or mask
  /// that implies one, else IPv4, as IPFilter defaults) and resolves every network against it.
  mutating func settleFamily<Rule: NetworkContainer>(of rule: inout Rule) -> IPFamily {
    let decidedBy = context.explicitFamily ?? context.impliedFamily
    let family = decidedBy?.value ?? .inet
    rule.forEachNetwork { network in
      resolve(&network, in: family, decidedBy: decidedBy)
    }
    return family
  }

  private mutating func resolve(_ network: inout Network, in family: IPFamily, decidedBy: Located<IPFamily>?) {
    let host = network.host
    if let hostFamily = host.impliedFamily, hostFamily != family {
      if case .number(let value) = host.spelling, family == .inet6, context.explicitFamily != nil {
        warning("parse.number-in-inet6",
                "the number \(value) is read as the IPv6 address \(IPAddress(family: .inet6, bits: UInt128(value)))",
                at: host.range,
                notes: [Note("IPFilter reads a bare number as an IPv4 address even in an inet6 rule, which "
                  + "makes the rule mean something else there; write the IPv6 address")])
      } else {
        familyMismatch(at: host.range, hostFamily, family, decidedBy)
        return  // The mask of a host in the wrong family says nothing more.
      }
    }
    var maskBits = family.allOnes
    if let mask = network.mask {
      switch (mask.form, family) {
      case (.length(let length), _):
        if let bits = Netmask.fromLength(length, family: family) {
          maskBits = bits
        } else if length <= 128 {
          error("parse.invalid-mask", "/\(length) is longer than an IPv4 address (at most /32)", at: mask.range,
                notes: familyNotes(decidedBy))
        }
      case (.ipv4(let value), .inet), (.hex(let value), .inet):
        maskBits = UInt128(value)
      case (.ipv6(let value), .inet6):
        maskBits = value
      case (.hex, .inet6):
        error("parse.invalid-mask", "a hex netmask is IPv4 only; use a prefix length such as /64",
              at: mask.range, notes: familyNotes(decidedBy))
      case (.ipv4, .inet6):
        familyMismatch(at: mask.range, .inet, family, decidedBy)
      case (.ipv6, .inet):
        familyMismatch(at: mask.range, .inet6, family, decidedBy)
      }
    }
    network.maskBits = maskBits
    network.address = IPAddress(family: family, bits: host.address(in: family).bits & maskBits)
  }

  private mutating func familyMismatch(
    at range: SourceRange, _ found: IPFamily, _ family: IPFamily, _ decidedBy: Located<IPFamily>?
  ) {
    error("parse.family-mismatch",
          "address family mismatch: this is \(found.displayName), but the rule is \(family.displayName)",
          at: range, notes: familyNotes(decidedBy))
  }

  private func familyNotes(_ decidedBy: Located<IPFamily>?) -> [Note] {
    guard let decidedBy else { return [] }
    return [Note("the rule is \(decidedBy.value.displayName) because of this", at: decidedBy.range)]
  }
}

extension IPFamily {
  var displayName: String { self == .inet ? "IPv4" : "IPv6" }
}

// MARK: - Conformances

// A visitor takes each value out (`consume`, or a swap for a stored property) and puts it back,
// instead of copying it and then replacing it: every rule has networks.

extension Address: NetworkContainer {
  mutating func forEachNetwork(_ body: (inout Network) -> Void) {
    var taken = Kind.any
    swap(&taken, &kind)
    switch consume taken {
    case .network(var network):
      body(&network)
      kind = .network(network)
    case let other:
      kind = other
    }
  }
}

extension FromTo: NetworkContainer {
  mutating func forEachNetwork(_ body: (inout Network) -> Void) {
    source.address.forEachNetwork(body)
    destination.address.forEachNetwork(body)
  }
}

/// Visits both ends of an address range.
private func visitRange(_ low: inout Network, _ high: inout Network, _ body: (inout Network) -> Void) {
  body(&low)
  body(&high)
}

extension MapRule.Source: NetworkContainer {
  mutating func forEachNetwork(_ body: (inout Network) -> Void) {
    switch consume self {
    case .address(var address):
      address.forEachNetwork(body)
      self = .address(address)
    case .fromTo(var fromTo):
      fromTo.forEachNetwork(body)
      self = .fromTo(fromTo)
    }
  }
}

extension MapRule.Target: NetworkContainer {
  mutating func forEachNetwork(_ body: (inout Network) -> Void) {
    switch consume self {
    case .address(var address):
      address.forEachNetwork(body)
      self = .address(address)
    case .range(var low, var high, let keyword):
      visitRange(&low, &high, body)
      self = .range(low, high, keyword: keyword)
    }
  }
}

extension MapRule: NetworkContainer {
  mutating func forEachNetwork(_ body: (inout Network) -> Void) {
    source.forEachNetwork(body)
    target.forEachNetwork(body)
  }
}

extension MapBlockRule: NetworkContainer {
  mutating func forEachNetwork(_ body: (inout Network) -> Void) {
    source.forEachNetwork(body)
    target.forEachNetwork(body)
  }
}

extension RuleMatch: NetworkContainer {
  mutating func forEachNetwork(_ body: (inout Network) -> Void) {
    switch consume self {
    case .address(var address, let ports):
      address.forEachNetwork(body)
      self = .address(address, ports: ports)
    case .fromTo(var fromTo):
      fromTo.forEachNetwork(body)
      self = .fromTo(fromTo)
    }
  }
}

extension RdrRule.Target: NetworkContainer {
  mutating func forEachNetwork(_ body: (inout Network) -> Void) {
    switch consume self {
    case .address(var address):
      address.forEachNetwork(body)
      self = .address(address)
    case .split(var first, var second):
      visitRange(&first, &second, body)
      self = .split(first, second)
    case .range(var low, var high, let keyword):
      visitRange(&low, &high, body)
      self = .range(low, high, keyword: keyword)
    }
  }
}

extension RdrRule: NetworkContainer {
  mutating func forEachNetwork(_ body: (inout Network) -> Void) {
    match.forEachNetwork(body)
    target.forEachNetwork(body)
  }
}

extension RewriteRule.Target: NetworkContainer {
  mutating func forEachNetwork(_ body: (inout Network) -> Void) {
    switch addresses {
    case .address(var address):
      address.forEachNetwork(body)
      addresses = .address(address)
    case .range(var low, var high, let keyword):
      visitRange(&low, &high, body)
      addresses = .range(low, high, keyword: keyword)
    case .lookup:
      break
    }
  }
}

extension RewriteRule: NetworkContainer {
  mutating func forEachNetwork(_ body: (inout Network) -> Void) {
    match.forEachNetwork(body)
    source.forEachNetwork(body)
    destination.forEachNetwork(body)
  }
}

extension DivertRule: NetworkContainer {
  mutating func forEachNetwork(_ body: (inout Network) -> Void) {
    match.forEachNetwork(body)
    source.forEachNetwork(body)
    destination.forEachNetwork(body)
  }
}

extension NoRule: NetworkContainer {
  mutating func forEachNetwork(_ body: (inout Network) -> Void) {
    match.forEachNetwork(body)
  }
}
