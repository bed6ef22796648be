import IPNatDiagnostics
import IPNatKit
import TestSupport
import Testing

/// Every sample in Samples/ compiles without errors, its ruleset passes `nft -c`, and it equals
/// `Golden/Samples/NAME.nft`, where long map element lists are abbreviated (a /16 map-block has
/// 65,536 elements; `PortBlockTests` checks their arithmetic).
@Suite struct SampleTests {
  static let samples = directory() + "/../../Samples"
  static let golden = directory() + "/Golden/Samples"
  static let names = files(in: samples, endingWith: ".conf").map { String($0.dropLast(5)) }

  @Test func thereAreSamples() {
    #expect(Self.names.count >= 6)
  }

  @Test(arguments: names)
  func compilesCleanly(_ name: String) throws {
    let text = try #require(readFile("\(Self.samples)/\(name).conf"))
    let file = SourceFile(name: "\(name).conf", text: text)
    let outcome = IPNat.compile(file, options: FrontendOptions(resolveHostNames: false))
    #expect(!outcome.hasErrors, "\(DiagnosticRenderer().render(outcome.diagnostics, in: file))")
    let output = try #require(outcome.output)
    let abbreviated = Self.abbreviate(output)
    #expect(Golden.recorded(at: "\(Self.golden)/\(name).nft", actual: abbreviated) == abbreviated)
    if NFTCheck.isAvailable { #expect(try NFTCheck.check(output) == nil) }
  }

  /// Keeps the first three elements of a long list and says how many were left out.
  static func abbreviate(_ script: String) -> String {
    var lines: [Substring] = []
    var run: [Substring] = []
    func flush() {
      if run.count > 8 {
        lines += run.prefix(3)
        lines.append("\t\t\t     … \(run.count - 4) more …")
        lines.append(run.last!)
      } else {
        lines += run
      }
      run = []
    }
    for line in script.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.contains("elements = {") || (!run.isEmpty && line.hasPrefix("\t\t\t     ")) {
        run.append(line)
      } else {
        flush()
        lines.append(line)
      }
    }
    flush()
    return lines.joined(separator: "\n")
  }
}
