import IPNatDiagnostics
import IPNatKit
import TestSupport
import Testing

/// Rules from real ipnat.conf files: Firewall Builder's generated files, IPFilter's own manual
/// page and nat-setup notes, the FreeBSD Handbook, and gateways deployed on illumos, SmartOS and
/// FreeBSD (`RealConfiguration` reads them, markers and all). A rule that IPFilter refuses too,
/// or whose job Linux cannot do, is marked with the error ipnat gives and why. Every other rule
/// is valid, and must compile: a valid rule refused is a fidelity bug.
@Suite struct RealConfigurationTests {
  typealias Reason = RealConfiguration.Reason

  static func entries(_ name: String) throws -> [RealConfiguration.Entry] {
    try #require(RealConfiguration(name), "\(name) cannot be read, or a marker names no reason").entries
  }

  static func compile(_ text: String, name: String) -> Outcome {
    IPNat.compile(SourceFile(name: name, text: text + "\n"), options: FrontendOptions(resolveHostNames: false))
  }

  @Test(arguments: RealConfiguration.names)
  func eachValidRuleCompilesAndEachMarkedOneIsRefused(_ name: String) throws {
    for entry in try Self.entries(name) {
      let outcome = Self.compile(entry.text, name: "\(name):\(entry.line)")
      let errors = outcome.diagnostics.filter { $0.severity == .error }.map(\.id.rawValue)
      if let refusal = entry.refusal {
        #expect(errors.contains(refusal.id), "\(name):\(entry.line): expected \(refusal.id), got \(errors): \(entry.text)")
      } else {
        #expect(errors.isEmpty, "\(name):\(entry.line): a valid rule refused (\(errors)): \(entry.text)")
      }
    }
  }

  /// The file as its administrator would load it once the refused rules are gone: it compiles
  /// whole (a repeated rule is only a warning, as IPFilter loads the rest) and nft accepts it.
  @Test(arguments: RealConfiguration.names)
  func theFileWithoutItsRefusedRulesLoads(_ name: String) throws {
    let valid = try #require(RealConfiguration(name)).validRules
    let outcome = Self.compile(valid, name: name)
    #expect(!outcome.hasErrors, "\(outcome.diagnostics.map(\.message))")
    let script = try #require(outcome.output)
    if NFTCheck.isAvailable { #expect(try NFTCheck.check(script) == nil) }
  }

  /// The figure issue 18 asks for: how many rules, and that no valid one is refused.
  @Test func theCorpusCounts() throws {
    let all = try RealConfiguration.names.flatMap(Self.entries)
    func count(_ reason: Reason) -> Int { all.filter { $0.refusal?.reason == reason }.count }
    #expect(all.count >= 500)
    // Each refusal of a rule IPFilter loads is one a reader can check in Grammar/README.md:
    // keep them few.
    #expect(count(.linuxCannot) + count(.ipfilterFailsSilently) <= 4)
    print("real configurations: \(all.count) rules, \(all.count - all.filter { $0.refusal != nil }.count) compile, "
      + "\(count(.ipfilterRefuses)) refused as IPFilter refuses them, \(count(.linuxCannot)) whose job Linux cannot do, "
      + "\(count(.ipfilterFailsSilently)) that IPFilter loads and that fail there")
  }
}
