import IPNatDiagnostics
import IPNatSyntax

/// `map` rules that squeeze many internal hosts into fewer addresses without a portmap.
///
/// Lint: without `portmap`, IPFilter keeps each connection's source port (`ip_nat.c: ipf_nat_newmap`), so two hosts
/// that reach the same server from the same port through the same new address collide, and
/// the second connection is dropped (test n5). Linux would change the port instead, so the
/// ruleset behaves differently on the two systems. The usual idiom is a `portmap tcp/udp` rule
/// followed by the same rule without one for ICMP; the second of those is fine.
struct PoolClash: LintCheck {
  let id: DiagnosticID = "lint.pool-clash"
  let summary = "a map of more internal hosts than new addresses without portmap: IPFilter drops colliding connections"
  let severity = Severity.warning

  func diagnostics(in context: LintContext) -> [Diagnostic] {
    var portmapped: Set<String> = []
    var found: [Diagnostic] = []
    for rule in context.rules {
      guard case .map(let map) = rule, map.kind == .map else { continue }
      let key = "\(map.interfaces.outbound.name) \(map.family) \(context.text(map.sourceAddress.range))"
      if case .portmap = map.translation {
        portmapped.insert(key)
        continue
      }
      guard map.translation == nil, !portmapped.contains(key),
        let hosts = AddressPrefix(map.sourceAddress, family: map.family)?.size, let addresses = newAddresses(map.target),
        hosts > addresses
      else { continue }
      found.append(finding(
        "\(describe(hosts)) internal addresses share \(addresses) new address\(addresses == 1 ? "" : "es") without portmap: IPFilter drops a connection whose new address and port are already in use",
        at: targetRange(map.target),
        notes: [Note("Linux would pick another port instead, so the rule behaves differently there")],
        fixIts: portmapFixIt(map.value)))
    }
    return found
  }

  /// A portmap after the new address, when the rule names no protocol of its own (a portmap
  /// brings one, and a second would not parse).
  private func portmapFixIt(_ map: MapRule) -> [FixIt] {
    guard map.protocolClause == nil, map.ruleProtocol == .any || map.ruleProtocol == .tcpUDP else { return [] }
    let end = targetRange(map.target).end
    return [FixIt("translate ports too", replacing: SourceRange(start: end, end: end), with: " portmap tcp/udp 1025:65535")]
  }

  /// How many new source addresses IPFilter hands out; `nil` when the source is kept.
  private func newAddresses(_ target: MapRule.Target) -> Int? {
    switch target {
    case .range(let low, let high, _):
      return high.address >= low.address ? Int(clamping: high.address.bits - low.address.bits + 1) : nil
    case .address(let address):
      guard case .network(let network) = address.kind, network.maskBits != 0,
        let length = network.prefixLength
      else { return nil }
      // The network and broadcast addresses are never used (`ip_nat.c: ipf_nat_newmap`; `ip_nat6.c`); /32 is one
      // address.
      let hostBits = network.family.width - length
      if hostBits == 0 { return 1 }
      if hostBits >= Int.bitWidth - 1 { return Int.max }
      return max(1, (1 << hostBits) - 2)
    }
  }

  private func targetRange(_ target: MapRule.Target) -> SourceRange {
    switch target {
    case .address(let address): address.range
    case .range(let low, let high, let keyword): (keyword?.range ?? low.range).extended(to: high.range)
    }
  }

  private func describe(_ count: Int) -> String { count == Int.max ? "all" : "\(count)" }
}
