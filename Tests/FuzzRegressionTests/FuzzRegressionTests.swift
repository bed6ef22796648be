import IPNatFuzzing
import TestSupport
import Testing

/// The fuzz harness (every stage, and the check that `ipnat print` output reads back as itself)
/// over the inputs the fuzzer once failed on, and over its seed corpus: every configuration
/// in Samples/ and Tests/. `.ci/fuzz` is the fuzzer itself.
@Suite struct FuzzRegressionTests {
  static let root = directory() + "/../.."

  static let crashInputs = files(in: directory() + "/Crashes", endingWith: "").filter { !$0.hasPrefix(".") && $0 != "README.md" }
    .map { directory() + "/Crashes/" + $0 }

  static let seeds: [String] = ["Samples", "Tests/IPNatSyntaxTests/Golden/Diagnostics", "Tests/IPNatLoweringTests/Golden",
                                "Tests/IPNatLintTests/Checks"]
    .flatMap { folder in files(in: "\(root)/\(folder)", endingWith: ".conf").map { "\(root)/\(folder)/\($0)" } }

  @Test(arguments: crashInputs)
  func aFormerCrashNoLongerFails(_ path: String) throws {
    FuzzHarness.exercise(try #require(readBytes(path)))
  }

  @Test func everySeedPassesTheHarness() throws {
    #expect(Self.seeds.count > 80)
    for path in Self.seeds { FuzzHarness.exercise(try #require(readBytes(path), "\(path)")) }
  }
}
