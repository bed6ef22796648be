import IPNatDiagnostics
import IPNatSyntax

/// Networks written with host bits set, such as `10.0.0.5/8`.
///
/// Lint: IPFilter stores `address & mask` (IPFilter's parser, `tools/ipnat_y.y`), so `10.0.0.5/8` means all of
/// 10.0.0.0/8. Usually the author meant the host (`10.0.0.5/32`) or mistyped the length.
struct HostBits: LintCheck {
  let id: DiagnosticID = "lint.host-bits"
  let summary = "a network written with host bits set, which IPFilter silently clears"
  let severity = Severity.warning

  func diagnostics(in context: LintContext) -> [Diagnostic] {
    context.rules.flatMap { rule in
      rule.writtenNetworks.compactMap { network -> Diagnostic? in
        // A name with a mask (`gateway/24`) is its own oddity: the name check reports names.
        if case .name = network.host.spelling { return nil }
        guard network.mask != nil, let length = network.prefixLength, network.unmaskedAddress != network.address
        else { return nil }
        return diagnostic(network, length: length)
      }
    }
  }

  private func diagnostic(_ network: Network, length: Int) -> Diagnostic {
    finding(
      "\(network.unmaskedAddress)/\(length) has host bits set; IPFilter reads it as \(network.address)/\(length)",
      at: network.range,
      notes: [Note("if the host \(network.unmaskedAddress) was meant, its prefix length is \(network.family.width)")],
      fixIts: [FixIt("write the network address", replacing: network.host.range, with: "\(network.address)")])
  }
}
