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
    let interfaces = InterfaceNames(renames: options.interfaceMap)
    for (offset, rule) in parsed.config.rules.enumerated() {
      var lowering = RuleLowering(rule: rule, ordinal: offset + 1, file: file, options: options, interfaces: interfaces,
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

  /// Port forwards and maps are made candidates from the ipnat rule's parts, without building
  /// the nft rule (`DirectCandidates.swift`). Each must be the candidate folding reads from the
  /// rule lowering builds when folding is off, and a rule whose parts make none must stay the
  /// same rule: for forms the direct way takes and forms it leaves.
  @Test func directCandidatesAreTheCandidatesTheirRulesGive() throws {
    let rules = Self.foldableShapes + """
      rdr eth0 198.18.0.4/32 port 53 -> 10.1.0.5 port 53 udp
      rdr eth0 198.18.0.5/32 port 80 -> 10.1.0.6 port = 8080 tcp
      rdr eth0 198.18.0.6/32 port 80 -> 10.1.0.7 port 8080 47
      rdr eth0 198.18.0.7/32 port 80-90 -> 10.1.0.8 port 8080 tcp
      rdr eth0 198.18.0.8/32 port 80 -> 127.0.0.1 port 8080 tcp
      rdr eth0 198.18.0.9/32 port 80 -> 0/32 port 8080 tcp
      rdr eth0 198.18.1.0/24 port 80 -> 10.1.0.9,10.1.0.10 port 80 tcp
      rdr eth0 198.18.0.11/32 port 80 -> 10.1.0.12 port 80 tcp tag "7"
      rdr eth0 0/0 port 80 -> 10.1.0.13 port 80 tcp
      rdr eth0 inet6 2001:db8::5/128 port 80 -> 2001:db8:1::5 port 8080 tcp
      map eth0 10.64.0.2/32 -> 0/32
      map eth0 10.64.0.3/32 -> 203.0.0.2/32 portmap tcp/udp auto
      map eth0 10.64.0.4/32 -> 203.0.0.3/32 portmap tcp 2000:3000 sequential
      map eth0 10.64.0.5/32 -> 203.0.0.4/32 tcp
      map eth0 10.64.2.0/24 -> 203.0.1.0/24
      bimap eth0 10.64.3.0/24 -> 203.0.2.0/24
      bimap eth0 10.64.0.6/32 -> 203.0.0.5/32
      map eth0 10.64.0.7/32 -> 203.0.0.6/32 tag "3"
      map eth0 10.64.0.8/32 -> 203.0.0.7/32 proxy port ftp ftp/tcp
      map eth0 10.64.4.0/255.0.255.0 -> 203.0.0.8/32

      """
    let direct = try Self.entries(rules)
    var unfolded = LoweringOptions()
    unfolded.foldThreshold = nil
    let built = try Self.entries(rules, options: unfolded)
    try #require(direct.count == built.count)
    #expect(Self.candidates(direct).count >= 12)
    for (entry, rule) in zip(direct, built.map(\.rule)) {
      switch entry {
      case .candidate(let candidate):
        let read = FoldCandidate.exactly(rule, chain: candidate.shape.nat == .dnat ? .dstnat : .srcnat)
        #expect(read?.standsForTheSameRule(as: candidate) == true, "\(rule)")
      case .rule(let kept):
        #expect(kept == rule)
      }
    }
  }
}
