import IPAddressing
import IPNatDiagnostics
import IPNatKit
@testable import IPNatLowering
import IPNatSyntax
import NFTModel
import Testing

/// While a chain is folded, a rule that could go into a map is held as its candidate alone
/// (`FoldEntry`), and rebuilt if it stays a rule. The rebuilt rule must be the rule lowering
/// made, and folding must read the same footprint from either.
@Suite struct FoldEntryTests {
  /// Rules of every shape that folds: port forwards, whole-host forwards, forwards of a
  /// network, 1:1 maps in both families, a portmap with a port range.
  static let foldableShapes = """
    rdr eth0 198.18.0.2/32 port 80 -> 10.1.0.2 port 8080 tcp
    rdr eth0 198.18.0.0/24 port 443 -> 10.1.0.3 port 443 tcp/udp
    rdr eth0 198.18.0.3/32 -> 10.1.0.4
    map eth0 10.64.0.1/32 -> 203.0.0.1/32
    map eth0 inet6 2001:db8::1/128 -> 2001:db8:1::1/128
    map eth0 10.64.1.0/24 -> 203.0.0.9/32 portmap tcp/udp 1024:65535

    """

  /// The NAT-chain entries lowering makes of `text`'s rules, in file order.
  static func entries(_ text: String, options: LoweringOptions = LoweringOptions()) throws -> [FoldEntry] {
    let file = SourceFile(name: "entries.conf", text: text)
    let parsed = IPNat.parse(file, options: FrontendOptions(resolveHostNames: false))
    try #require(!parsed.diagnostics.hasErrors, "\(DiagnosticRenderer().render(parsed.diagnostics, in: file))")
    var entries: [FoldEntry] = []
    for (offset, rule) in parsed.config.rules.enumerated() {
      var lowering = RuleLowering(rule: rule, ordinal: offset + 1, file: file, options: options,
                                  printedAs: CanonicalPrinter.print(rule))
      try lowering.lower(rule)
      entries += lowering.output.natRules.map(\.entry)
    }
    return entries
  }

  static func candidates(_ entries: [FoldEntry]) -> [FoldCandidate] {
    entries.compactMap { if case .candidate(let candidate) = $0 { candidate } else { nil } }
  }

  @Test func everyFoldableRuleIsHeldAsItsCandidateAndRebuiltExactly() throws {
    let held = try Self.entries(Self.foldableShapes)
    var unfolded = LoweringOptions()
    unfolded.foldThreshold = nil
    let plain = try Self.entries(Self.foldableShapes, options: unfolded)
    let candidates = Self.candidates(held)
    #expect(candidates.count == 6)
    #expect(Self.candidates(plain).isEmpty)
    #expect(held.map(\.rule) == plain.map(\.rule))
    for candidate in candidates {
      let fromCandidate = Footprint(candidate)
      let fromRule = Footprint(candidate.rule)
      #expect(fromCandidate == fromRule, "\(candidate.rule)")
    }
  }

  @Test func anOutputWithoutConcatenatedMapsHoldsPortForwardsAsRules() throws {
    var options = LoweringOptions()
    options.target = OutputCapabilities(concatenatedMapData: false)
    let held = try Self.entries(Self.foldableShapes, options: options)
    let kept = Self.candidates(held).map { $0.rule.origin?.line }
    // The 1:1 maps and the whole-host forward translate to an address alone.
    #expect(kept == [3, 4, 5])
  }

  /// A rule the candidate only describes stays a rule: here its matches are in another order
  /// than lowering writes them, which the candidate would not give back.
  @Test func aRuleTheCandidateCannotGiveBackStaysARule() throws {
    let interface = Match(.meta(.iifname), .string("eth0"))
    let address = Match(.payload(PayloadField(.ip, .daddr)), .address(.ipv4(0xc612_0002)))
    let nat = NATStatement(.dnat, family: .ip, address: .address(.ipv4(0x0a01_0002)))
    let written = NFTModel.Rule(matches: [interface, address], statements: [.nat(nat)])
    let reordered = NFTModel.Rule(matches: [address, interface], statements: [.nat(nat)])
    #expect(FoldCandidate.exactly(written, chain: .dstnat)?.rule == written)
    #expect(FoldCandidate(reordered, chain: .dstnat) != nil)
    #expect(FoldCandidate.exactly(reordered, chain: .dstnat) == nil)
  }
}
