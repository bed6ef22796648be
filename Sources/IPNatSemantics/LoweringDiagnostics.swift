import IPNatDiagnostics

/// What the lowering can report (`lower.*`): rules Linux cannot express as IPFilter means them
/// (errors), and rules that mean less on Linux than they look (warnings). Declared here rather
/// than in the lowering so that lint, which does not depend on the lowering, can list its
/// warnings and let users disable them.
public enum LoweringDiagnostics: DiagnosticCatalogue {
  /// A copy of an earlier rule, which the lowering leaves out and lint passes over.
  public static let duplicateRule = DiagnosticKind(
    "lower.duplicate-rule", .warning, "a rule identical to an earlier one, left out (IPFilter refuses to load it and loads the rest)")

  public static let kinds: [DiagnosticKind] = [
    DiagnosticKind("lower.age-other-protocols", .warning, "'age' on a rule for every protocol: only TCP and UDP get it on Linux"),
    DiagnosticKind("lower.age-protocol", .error, "'age' on a protocol nftables has no timeout object for"),
    DiagnosticKind("lower.age-zero", .error, "'age 0/N', which IPFilter refuses"),
    DiagnosticKind("lower.age-too-long", .warning, "an 'age' longer than the kernel keeps a timeout, about 49 days"),
    DiagnosticKind("lower.bimap-interface-address", .warning, "a bimap to 0/32, whose inbound half never applies"),
    DiagnosticKind("lower.bimap-range", .error, "a bimap to an address range"),
    DiagnosticKind("lower.divert", .error, "a divert rule, which nftables cannot express"),
    duplicateRule,
    DiagnosticKind("lower.empty-range", .error, "an address range that is empty"),
    DiagnosticKind("lower.interface-name", .error, "a name that cannot be a Linux interface"),
    DiagnosticKind("lower.json-concatenated-map", .error, "a rule --format json cannot express"),
    DiagnosticKind("lower.lookup-table", .error, "a lookup table, whose contents live outside the file"),
    DiagnosticKind("lower.map-block-any", .error, "map-block to 'any'"),
    DiagnosticKind("lower.map-block-equal-masks", .error, "map-block between networks of one size"),
    DiagnosticKind("lower.map-block-mask", .error, "map-block with a mask that is not a prefix"),
    DiagnosticKind("lower.map-block-ports", .error, "map-block with more ports than there are"),
    DiagnosticKind("lower.map-block-too-large", .error, "map-block from a network larger than /16"),
    DiagnosticKind("lower.matches-nothing", .error, "a rule that can match no packet"),
    DiagnosticKind("lower.mssclamp-not-tcp", .warning, "'mssclamp' on a rule that applies to no TCP connection"),
    DiagnosticKind("lower.mssclamp-size", .error, "an MSS beyond 16 bits"),
    DiagnosticKind("lower.pool-mask", .error, "a pool of new addresses with a mask that is not a prefix"),
    DiagnosticKind("lower.proxy-protocol", .error, "a proxy on a protocol its Linux helper does not handle"),
    DiagnosticKind("lower.proxy-unavailable", .error, "a proxy whose job no Linux conntrack helper does"),
    DiagnosticKind("lower.rdr-loopback", .warning, "an rdr to a loopback address, redirected to the receiving interface instead"),
    DiagnosticKind("lower.rdr-shift-every-port", .error, "an rdr with a port range and no matched port, which shifts every port"),
    DiagnosticKind("lower.reflection-any-interface", .warning, "no reflection for an rdr on any interface"),
    DiagnosticKind("lower.reflection-needs-address", .warning, "no reflection for an rdr whose destination is not one address"),
    DiagnosticKind("lower.rewrite-interface-address", .error, "a rewrite to an interface address Linux cannot name"),
    DiagnosticKind("lower.rewrite-range", .error, "a rewrite to an address range, which IPFilter cannot use"),
    DiagnosticKind("lower.sticky-split", .error, "sticky on a split target without round-robin, which IPFilter drops"),
    DiagnosticKind("lower.tag-not-number", .error, "a tag that is not a number, which Linux marks need"),
  ]
}
