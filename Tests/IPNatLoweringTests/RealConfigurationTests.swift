import IPNatDiagnostics
import IPNatKit
import TestSupport
import Testing

/// Rules from real ipnat.conf files: Firewall Builder's generated files, IPFilter's own manual
/// page and nat-setup notes, the FreeBSD Handbook, and gateways deployed on illumos, SmartOS and
/// FreeBSD. Each file in `RealConfigurations/` names its source. A rule that IPFilter refuses
/// too, or whose job Linux cannot do, is marked on the line before it with the error ipnat
/// gives and why: `#! refused by IPFilter [ID]: why`, `#! refused on Linux [ID]: why`, or
/// `#! refused where IPFilter fails silently [ID]: why` for a rule IPFilter loads but that
/// cannot work there. Every other rule is valid, and must compile: a valid rule refused
/// is a fidelity bug.
@Suite struct RealConfigurationTests {
  static let directory = TestSupport.directory(of: #filePath) + "/RealConfigurations"
  static let names = files(in: directory, endingWith: ".conf")

  enum Reason: String, CaseIterable {
    case ipfilterRefuses = "by IPFilter"
    case linuxCannot = "on Linux"
    case ipfilterFailsSilently = "where IPFilter fails silently"
  }

  /// One rule of a corpus file, with the refusal its marker expects.
  struct Entry {
    let line: Int
    let text: String
    let refusal: (reason: Reason, id: String)?
  }

  static func entries(_ name: String) throws -> [Entry] {
    let text = try #require(readFile("\(directory)/\(name)"))
    var entries: [Entry] = []
    var marker: (reason: Reason, id: String)?
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      if line.hasPrefix("#! refused ") {
        let reason = try #require(Reason.allCases.first { line.hasPrefix("#! refused \($0.rawValue) [") }, "\(name):\(index + 1)")
        let id = line.drop { $0 != "[" }.dropFirst().prefix { $0 != "]" }
        marker = (reason, String(id))
      } else if !line.hasPrefix("#"), !line.allSatisfy(\.isWhitespace) {
        entries.append(Entry(line: index + 1, text: String(line), refusal: marker))
        marker = nil
      }
    }
    return entries
  }

  static func compile(_ text: String, name: String) -> Outcome {
    IPNat.compile(SourceFile(name: name, text: text + "\n"), options: FrontendOptions(resolveHostNames: false))
  }

  @Test(arguments: names)
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
  @Test(arguments: names)
  func theFileWithoutItsRefusedRulesLoads(_ name: String) throws {
    let valid = try Self.entries(name).filter { $0.refusal == nil }.map(\.text).joined(separator: "\n")
    let outcome = Self.compile(valid, name: name)
    #expect(!outcome.hasErrors, "\(outcome.diagnostics.map(\.message))")
    let script = try #require(outcome.output)
    if NFTCheck.isAvailable { #expect(try NFTCheck.check(script) == nil) }
  }

  /// The figure issue 18 asks for: how many rules, and that no valid one is refused.
  @Test func theCorpusCounts() throws {
    let all = try Self.names.flatMap(Self.entries)
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
