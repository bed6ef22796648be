import IPNatSyntax
import NFTModel

extension RuleLowering {
  /// `map … proxy port 500 ipsec/udp`. IPFilter's ipsec proxy (`ip_ipsec_pxy.c:
  /// ipf_p_ipsec_new`) watches the rule's IKE sessions and, for each, adds an ESP translation
  /// between the same two hosts to the IKE session's new address: ESP has no ports, so the
  /// rule, which matches UDP, would not translate it. No Linux helper does this, but a rule
  /// does: ESP between the same addresses, to the same new address. Linux's conntrack then
  /// follows each ESP flow by its two addresses, as IPFilter's entry does (`SI_WILDP`).
  ///
  /// The new address is the IKE session's: a map with a proxy has no portmap, so every
  /// session of the rule gets the same address (see ``poolExpression(_:portsPerAddress:)``).
  /// Like IPFilter, which refuses a second ESP translation between a new address and a peer,
  /// Linux serves one inside host per peer. Unlike IPFilter, ESP is translated before any IKE
  /// has gone through (IPFilter waits for the rule's first IKE packet).
  mutating func lowerIPsecProxy(_ map: MapRule, _ proxy: ProxyClause, precedence: Int) throws(LoweringError) {
    guard map.ruleProtocol == .udp else {
      throw LoweringError("lower.proxy-protocol", "the 'ipsec' proxy works on udp only (IKE)", at: proxy.label.range)
    }
    var matches = Matches(family: family)
    matches.interface(try interfaces.linuxName(map.interfaces.outbound), .oifname)
    try sourceMatches(map, into: &matches, withPorts: false)
    matches.transport(.number(Self.encapsulatingSecurityPayload))
    if let tag = map.options.tag { matches.append(Match(.meta(.mark), .integer(UInt64(try markValue(tag))))) }
    add(.srcnat, prefixLength: precedence, rule(matches, [try outboundTranslation(map)]))
  }

  /// ESP, IP protocol 50.
  static let encapsulatingSecurityPayload: UInt8 = 50
}
