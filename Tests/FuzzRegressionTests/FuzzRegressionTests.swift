@testable import IPNatFuzzing
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
                                "Tests/IPNatLintTests/Checks", "Tests/NATPMPTests/Configurations", "Samples/natpmpd"]
    .flatMap { folder in files(in: "\(root)/\(folder)", endingWith: ".conf").map { "\(root)/\(folder)/\($0)" } }
    + ["Samples/ci", "Tests/IPNatEvaluationTests/Golden"].flatMap { folder in
      files(in: "\(root)/\(folder)", endingWith: ".packets").map { "\(root)/\(folder)/\($0)" }
    }

  /// The record target's one-line edits: the last number, the first port, and the first IPv4
  /// address of the last line with a digit.
  @Test func theRecordTargetEditsTheLastRule() {
    let file = Array("map eth0 0/0 -> 0/32\nrdr eth0 192.0.2.255/32 port 80 -> 10.0.0.1 port 8080 tcp\n# end\n".utf8)
    func edited(_ edit: ([UInt8]) -> [UInt8]?) -> String? { edit(file).map { String(decoding: $0, as: UTF8.self) } }
    let rule = "map eth0 0/0 -> 0/32\nrdr eth0 "
    #expect(edited(RecordHarness.editingLastNumber) == rule + "192.0.2.255/32 port 80 -> 10.0.0.1 port 8081 tcp\n# end\n")
    #expect(edited(RecordHarness.editingFirstPort) == rule + "192.0.2.255/32 port 81 -> 10.0.0.1 port 8080 tcp\n# end\n")
    #expect(edited(RecordHarness.editingFirstAddress) == rule + "192.0.2.0/32 port 80 -> 10.0.0.1 port 8080 tcp\n# end\n")
    #expect(RecordHarness.editingFirstAddress(of: Array("map eth0 0/0 -> 1.2.3.4.5/32\n".utf8)) == nil)
  }

  @Test(arguments: crashInputs)
  func aFormerCrashNoLongerFails(_ path: String) throws {
    let bytes = try #require(readBytes(path))
    FuzzTarget.all.exercise(bytes)
  }

  @Test func everySeedPassesTheHarness() throws {
    #expect(Self.seeds.count > 80)
    for path in Self.seeds {
      let bytes = try #require(readBytes(path), "\(path)")
      FuzzTarget.all.exercise(bytes)
    }
  }

  /// UPnP's seeds, and random cuts and splices of them, through the UPnP harness.
  @Test func upnpRequestsPassTheHarness() throws {
    let folder = "\(Self.root)/Tests/UPnPTests/Seeds"
    let seeds = try files(in: folder, endingWith: "").filter { !$0.hasPrefix(".") }.map { name in
      try #require(readBytes("\(folder)/\(name)"))
    }
    #expect(seeds.count >= 3)
    var generator = SplitMix64(seed: 11)
    for seed in seeds {
      UPnPHarness.exercise(seed)
      for _ in 0..<200 {
        var bytes = seed
        let cut = generator.next(below: bytes.count)
        bytes.replaceSubrange(cut..<min(bytes.count, cut + generator.next(below: 16)),
                              with: (0..<generator.next(below: 8)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        UPnPHarness.exercise(bytes)
      }
    }
  }

  /// Datagrams the server must survive, in the harness's framing (length, client, time step).
  @Test func natpmpDatagramsPassTheHarness() {
    var generator = SplitMix64(seed: 5)
    for _ in 0..<300 {
      NATPMPHarness.exercise((0..<generator.next(below: 400)).map { _ in
        generator.next(below: 3) == 0 ? UInt8(generator.next(below: 3)) : UInt8(truncatingIfNeeded: generator.next())
      })
    }
  }
}
