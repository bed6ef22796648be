import IPNatDiagnostics
import IPNatSemantics
import IPNatSyntax

/// map-block rules whose hosts share ports, or get too few.
///
/// Lint: IPFilter gives internal host i the port block `1024 + P·(i mod A)` … `+ P − 1` on external address `base +
/// i/A`, masked to the external network (`ip_nat.c: ipf_nat_newmap`, `lib/nat_setgroupmap.c`). When the internal
/// network needs more external addresses than the rule has (a small `ports N`, or prefixes 16 or more bits apart,
/// which wraps IPFilter's 16-bit arithmetic) the address wraps around and hosts share blocks: their connections
/// collide. Fewer than 64 ports per host run out as soon as a client opens a few dozen connections. Equal prefix
/// lengths and networks larger than /16 are errors of the lowering (`lower.map-block-equal-masks`,
/// `lower.map-block-too-large`).
struct MapBlockCapacity: LintCheck {
  let id: DiagnosticID = "lint.map-block-capacity"
  let summary = "map-block rules whose hosts share port blocks, or own fewer than \(MapBlockCapacity.minimumPorts) ports each"
  let severity = Severity.warning

  static let minimumPorts = 64

  func diagnostics(in context: LintContext) -> [Diagnostic] {
    context.rules.compactMap { rule in
      guard case .mapBlock(let block) = rule, let layout = block.portBlockLayout else { return nil }
      let portsNote = Note("\(layout.addressesPerIP) internal hosts share each external address, with \(layout.portsPerAddress) port\(layout.portsPerAddress == 1 ? "" : "s") each")
      if layout.externalAddressesNeeded > layout.externalAddresses {
        return finding(
          "internal hosts share port blocks: the internal network needs \(layout.externalAddressesNeeded) external addresses and \(context.text(block.target.range)) has \(layout.externalAddresses)",
          at: block.range,
          notes: [portsNote, Note("hosts \(layout.externalAddresses * layout.addressesPerIP) addresses apart get the same address and ports, and their connections collide; use 'ports auto' or a larger external network")])
      }
      guard layout.portsPerAddress < Self.minimumPorts else { return nil }
      return finding(
        "each internal host owns only \(layout.portsPerAddress) port\(layout.portsPerAddress == 1 ? "" : "s"); its connections fail once they are in use",
        at: block.ports.map(Self.range) ?? block.range,
        notes: [portsNote, Note("'ports auto' divides the external ports evenly among the internal hosts")])
    }
  }

  private static func range(_ ports: MapBlockRule.Ports) -> SourceRange {
    switch ports {
    case .count(let count): count.range
    case .auto(let flag): flag.range
    }
  }
}
