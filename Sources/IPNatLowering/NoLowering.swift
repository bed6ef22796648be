import IPNatSemantics
import IPNatSyntax
import NFTModel

/// `no map|bimap|map-block|rdr …` (`ip_nat.c: ipf_nat_checkout`, `ipf_nat_checkin`): when IPFilter's search reaches
/// it, the search stops and the packet is not translated. In nft, `accept` ends the NAT chain the same way, and the
/// rule takes its place in the search order like any other.
extension RuleLowering {
  mutating func lowerNo(_ no: NoRule) throws(LoweringError) {
    var matches = Matches(family: family)
    let precedence: Int
    switch no.kind {
    case .map, .bimap, .mapBlock:
      // A `no bimap` acts on outbound packets only: IPFilter's inbound half would be keyed on
      // a destination the rule does not have.
      matches.interface(try interfaces.linuxName(no.interfaces.outbound), .oifname)
      switch no.match {
      case .address(let address, _):
        try matches.address(address, .source)
        precedence = address.precedenceLength(in: family)
      case .fromTo(let fromTo):
        try matches.address(fromTo.source.address, .source)
        try matches.address(fromTo.destination.address, .destination, negated: fromTo.negation == .destination)
        if let test = fromTo.source.port { try matches.port(test, .source) }
        if let test = fromTo.destination.port { try matches.port(test, .destination) }
        precedence = fromTo.source.address.precedenceLength(in: family)
      }
    case .rdr:
      matches.interface(try interfaces.linuxName(no.interfaces.inbound), .iifname)
      switch no.match {
      case .address(let address, let ports):
        try matches.address(address, .destination)
        if let ports, ports.lowNumber != 0, no.ruleProtocol.carriesPorts {
          matches.ports(ports.lowNumber, max(ports.lowNumber, ports.highNumber), .destination)
        }
        precedence = address.precedenceLength(in: family)
      case .fromTo(let fromTo):
        try matches.address(fromTo.source.address, .source, negated: fromTo.negation == .source)
        try matches.address(fromTo.destination.address, .destination)
        if let test = fromTo.source.port { try matches.port(test, .source) }
        if let test = fromTo.destination.port { try matches.port(test, .destination) }
        precedence = fromTo.destination.address.precedenceLength(in: family)
      }
    }
    matches.transport(no.ruleProtocol)
    add(no.kind == .rdr ? .dstnat : .srcnat, prefixLength: precedence, rule(matches, [.verdict(.accept)]))
  }
}
