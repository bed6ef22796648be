import Foundation
import TestSupport
import Testing

/// `.ci/ipfilter-replay`, which measures ipnat against IPFilter's own packet tests, on a small
/// test laid out as IPFilter's are and written here: each rule run on its own, packets in
/// ipftest's notation, the expected output in ipftest's, with a drop (`15`). The tool must read
/// all three, send the packets through the kernel and count what comes out as expected.
@Suite(.serialized, .enabled(if: Lab.isAvailable, "needs root, iproute2, nft and python3"))
struct IPFilterReplayTests {
  static let replay = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../.ci/ipfilter-replay").standardized.path

  /// Two portless flows to one server share no port to tell them apart: the second finds the
  /// translated tuple taken and is dropped, by IPFilter and by Linux alike.
  static let rules = """
    map NIC0 10.1.1.0/24 -> 10.2.2.2/32
    rdr NIC0 10.2.2.2/32 port 80 -> 10.1.1.7 port 8080 tcp

    """
  static let packets = """
    out on NIC0 255 10.1.1.1 10.9.9.9
    out on NIC0 255 10.1.1.2 10.9.9.9
    in on NIC0 255 10.9.9.9 10.2.2.2
    out on NIC0 tcp 10.1.1.3,5000 10.9.9.9,80
    in on NIC0 tcp 10.9.9.9,4000 10.2.2.2,80

    """
  static let expected = """
    > NIC0 ip #0 20(20) 255 10.2.2.2 > 10.9.9.9
    15
    < NIC0 ip #0 20(20) 255 10.9.9.9 > 10.1.1.1
    > NIC0 ip #0 40(20) 6 10.2.2.2,5000 > 10.9.9.9,80
    < NIC0 ip #0 40(20) 6 10.9.9.9,4000 > 10.2.2.2,80
    -------------------------------
    > NIC0 ip #0 20(20) 255 10.1.1.1 > 10.9.9.9
    > NIC0 ip #0 20(20) 255 10.1.1.2 > 10.9.9.9
    < NIC0 ip #0 20(20) 255 10.9.9.9 > 10.2.2.2
    > NIC0 ip #0 40(20) 6 10.1.1.3,5000 > 10.9.9.9,80
    < NIC0 ip #0 40(20) 6 10.9.9.9,4000 > 10.1.1.7,8080
    -------------------------------

    """

  func replay(expected: String, extra: [String] = []) throws -> ProcessResult {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    for (kind, text) in [("regress", Self.rules), ("input", Self.packets), ("expected", expected)] {
      let folder = directory.appendingPathComponent(kind)
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      try Data(text.utf8).write(to: folder.appendingPathComponent("t1.dist"))
    }
    let python = try #require(Lab.python, "Lab.isAvailable found python3")
    return try Shell.run(python, [Self.replay] + extra + [Shell.ipnatPath, directory.path, "t1"])
  }

  @Test func everyPacketComesOutAsExpected() throws {
    let run = try replay(expected: Self.expected, extra: ["--at-least", "100"])
    #expect(run.status == 0, "\(run.standardOutput)\(run.standardError)")
    #expect(run.standardOutput.contains("t1:1: 5/5\n"))
    #expect(run.standardOutput.contains("t1:2: 5/5\n"))
    #expect(run.standardOutput.hasSuffix("10 of 10 packets as IPFilter (100.0 %)\n"))
  }

  @Test func aPacketThatDiffersIsShownAndCounted() throws {
    let wrong = Self.expected.replacingOccurrences(of: "10.1.1.7,8080", with: "10.1.1.7,8081")
    let run = try replay(expected: wrong, extra: ["--at-least", "100"])
    #expect(run.status == 1)
    #expect(run.standardOutput.contains("    want in 6 10.9.9.9,4000 > 10.1.1.7,8081\n    got  in 6 10.9.9.9,4000 > 10.1.1.7,8080\n"))
    #expect(run.standardOutput.hasSuffix("9 of 10 packets as IPFilter (90.0 %)\n"))
  }
}
