import Foundation
import Testing
import TestSupport

/// Reloads while traffic flows, as nftables' own `atomic_replace` test does: a TCP stream and a
/// UDP flow through the router keep going, unbroken and unlost, across 100 back-to-back
/// `ipnat load`s of a ruleset that changes their rule's translation each time; connections keep
/// the translation they began with, and new connections made during the reloads are always
/// translated, by the old ruleset or the new, never left untranslated (the outside host has no
/// route back to an untranslated source, so such a packet would go unanswered).
@Suite(.serialized, .enabled(if: Lab.isAvailable, "needs root, iproute2, nft and python3"))
struct ReloadUnderTrafficTests {
  static let loads = 100

  /// probe.py's JSON summaries (snake_case keys).
  struct ClientSummary: Decodable {
    var tcpSent: Int
    var tcpSentBytes: Int
    var tcpEchoedBytes: Int
    var tcpError: String?
    var udpSent: Int
    var udpEchoed: Int
    var newflowSent: Int
    var newflowAnswered: Int
  }

  struct ServerSummary: Decodable {
    var tcpPeers: [String]
    var tcpLines: Int
    var tcpInOrder: Bool
    var tcpError: String?
    var udpPeers: [String]
    var udpSequence: [Int]
    var newflowPeers: [String]
  }

  /// The flow's own rule alternates between two pool addresses.
  static func ruleset(_ address: String, generation: Int) -> String {
    """
    # generation \(generation)
    map rwan 10.0.0.0/24 -> \(address)/32 portmap tcp/udp 20000:30000
    map rwan 10.0.0.0/24 -> \(address)/32
    rdr rwan 0/0 port \(8000 + generation % 2) -> 10.0.0.2 port 80 tcp

    """
  }

  @Test func connectionsSurviveAHundredReloads() throws {
    try withLab { lab in
      let files = ["203.0.113.5", "203.0.113.6"].enumerated().map { index, address in
        let path = lab.logPath("gen\(index).conf")
        writeFile(path, Self.ruleset(address, generation: index))
        return path
      }
      _ = try lab.run(lab.router, [Shell.ipnatPath, "load", files[0]])
      let serverStop = lab.logPath("server.stop")
      let clientStop = lab.logPath("client.stop")
      try lab.start(lab.outside, ["stream-server", "192.0.2.2:7100", lab.logPath("server.json"),
                                  "--stop-file", serverStop, "--ready-file", lab.logPath("server.ready")])
      lab.waitForLog("server.ready")
      let client = try lab.spawn(lab.inside, ["stream-client", "192.0.2.2:7100", "--stop-file", clientStop,
                                              "--ready-file", lab.logPath("client.ready")])
      // The first ruleset must have translated both flows before the reloads begin; a fixed
      // sleep was too short on a loaded CI machine, and the flows began under the second.
      lab.waitForLog("client.ready")
      try #require(!lab.log("client.ready").isEmpty, "the client's stream and flow were echoed within five seconds")

      for generation in 1...Self.loads {
        _ = try lab.run(lab.router, [Shell.ipnatPath, "load", files[generation % 2]])
      }
      usleep(300_000)
      writeFile(clientStop, "")
      let output = (client.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
      client.waitUntilExit()
      writeFile(serverStop, "")
      // The server renames its summary into place whole; at most five seconds.
      lab.waitForLog("server.json")

      let decoder = JSONDecoder()
      decoder.keyDecodingStrategy = .convertFromSnakeCase
      let sent = try decoder.decode(ClientSummary.self, from: output)
      let seen = try decoder.decode(ServerSummary.self, from: Data(contentsOf: URL(fileURLWithPath: lab.logPath("server.json"))))

      // The TCP stream: never reset, every line there and in order, one translation throughout.
      #expect(sent.tcpError == nil)
      #expect(seen.tcpError == nil)
      #expect(sent.tcpSent > 200, "the stream ran through the reloads")
      #expect(seen.tcpLines == sent.tcpSent)
      #expect(seen.tcpInOrder)
      #expect(sent.tcpEchoedBytes == sent.tcpSentBytes)
      #expect(seen.tcpPeers == ["203.0.113.5"], "the connection keeps the translation it began with")

      // The UDP flow: every datagram arrived, from one translated source.
      #expect(seen.udpSequence == Array(0..<sent.udpSent), "lost: \(Set(0..<sent.udpSent).subtracting(seen.udpSequence).sorted().prefix(20))")
      #expect(sent.udpEchoed == sent.udpSent)
      #expect(seen.udpPeers == ["203.0.113.5"])

      // New connections during the reloads: all translated, by one ruleset or the other.
      #expect(sent.newflowSent > 50)
      #expect(sent.newflowAnswered == sent.newflowSent)
      #expect(seen.newflowPeers == ["203.0.113.5", "203.0.113.6"], "both rulesets were live while traffic ran")
    }
  }
}
