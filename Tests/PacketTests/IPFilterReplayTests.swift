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

  /// The same in IPv6, as IPFilter's `_6` tests write it: `in6`/`out6`, ICMPv6 (58) and a packet
  /// without a protocol (ipftest's default, 41) besides, and addresses written out in full.
  static let rules6 = """
    map NIC0 fd00:1::/64 -> 2001:db8::2/128
    rdr NIC0 2001:db8::2/128 port 80 -> fd00:1::7 port 8080 tcp

    """
  static let packets6 = """
    out6 on NIC0 255 fd00:1::1 2001:db8:9::9
    in6 on NIC0 255 2001:db8:9::9 2001:db8::2
    out6 on NIC0 58 fd00:1::3 2001:db8:9::9
    out6 on NIC0 fd00:1::4 2001:db8:9::8
    out6 on NIC0 tcp fd00:1::3,5000 2001:db8:9::9,80
    in6 on NIC0 tcp 2001:db8:9::9,4000 2001:db8::2,80

    """
  static let expected6 = """
    > NIC0 ip6/0 1 0 255 2001:db8:0:0:0:0:0:2 > 2001:db8:9:0:0:0:0:9
    < NIC0 ip6/0 1 0 255 2001:db8:9:0:0:0:0:9 > fd00:1:0:0:0:0:0:1
    > NIC0 ip6/0 88 0 58 2001:db8:0:0:0:0:0:2 > 2001:db8:9:0:0:0:0:9
    > NIC0 ip6/0 1 0 41 2001:db8:0:0:0:0:0:2 > 2001:db8:9:0:0:0:0:8
    > NIC0 ip6/0 20 0 6 2001:db8:0:0:0:0:0:2,5000 > 2001:db8:9:0:0:0:0:9,80
    < NIC0 ip6/0 20 0 6 2001:db8:9:0:0:0:0:9,4000 > 2001:db8:0:0:0:0:0:2,80
    -------------------------------
    > NIC0 ip6/0 1 0 255 fd00:1:0:0:0:0:0:1 > 2001:db8:9:0:0:0:0:9
    < NIC0 ip6/0 1 0 255 2001:db8:9:0:0:0:0:9 > 2001:db8:0:0:0:0:0:2
    > NIC0 ip6/0 88 0 58 fd00:1:0:0:0:0:0:3 > 2001:db8:9:0:0:0:0:9
    > NIC0 ip6/0 1 0 41 fd00:1:0:0:0:0:0:4 > 2001:db8:9:0:0:0:0:8
    > NIC0 ip6/0 20 0 6 fd00:1:0:0:0:0:0:3,5000 > 2001:db8:9:0:0:0:0:9,80
    < NIC0 ip6/0 20 0 6 2001:db8:9:0:0:0:0:9,4000 > fd00:1:0:0:0:0:0:7,8080
    -------------------------------

    """

  func replay(rules: String = rules, packets: String = packets, expected: String, extra: [String] = []) throws
    -> ProcessResult
  {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    for (kind, text) in [("regress", rules), ("input", packets), ("expected", expected)] {
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

  @Test func ipv6PacketsComeOutAsExpected() throws {
    let run = try replay(rules: Self.rules6, packets: Self.packets6, expected: Self.expected6, extra: ["--at-least", "100"])
    #expect(run.status == 0, "\(run.standardOutput)\(run.standardError)")
    #expect(run.standardOutput.hasSuffix("12 of 12 packets as IPFilter (100.0 %)\n"))
    let wrong = Self.expected6.replacingOccurrences(of: "fd00:1:0:0:0:0:0:7,8080", with: "fd00:1:0:0:0:0:0:8,8080")
    let differing = try replay(rules: Self.rules6, packets: Self.packets6, expected: wrong)
    #expect(differing.standardOutput.contains("    want in 6 2001:db8:9::9,4000 > fd00:1::8,8080\n    got  in 6 2001:db8:9::9,4000 > fd00:1::7,8080\n"))
    #expect(differing.standardOutput.hasSuffix("11 of 12 packets as IPFilter (91.7 %)\n"))
  }

  @Test func aPacketThatDiffersIsShownAndCounted() throws {
    let wrong = Self.expected.replacingOccurrences(of: "10.1.1.7,8080", with: "10.1.1.7,8081")
    let run = try replay(expected: wrong, extra: ["--at-least", "100"])
    #expect(run.status == 1)
    #expect(run.standardOutput.contains("    want in 6 10.9.9.9,4000 > 10.1.1.7,8081\n    got  in 6 10.9.9.9,4000 > 10.1.1.7,8080\n"))
    #expect(run.standardOutput.hasSuffix("9 of 10 packets as IPFilter (90.0 %)\n"))
  }
}
