import Foundation
import TestSupport
import Testing

/// Mappings around live flows, in the lab with natpmpc as the client: what peer-to-peer
/// applications depend on.
@Suite(.serialized, .enabled(if: DaemonLab.isAvailable, "needs root, ip, nft, python3 and natpmpc"))
struct LiveTrafficTests {
  /// A mapping works both ways (RFC 6886 §3.9): what the client sends from its mapped port
  /// leaves from the external port, even with a masquerade rule of ipnat's own on the way out.
  @Test func outboundTrafficFromTheMappedPortLeavesWithTheExternalPort() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      _ = try lab.run(lab.router, [Shell.ipnatPath, "load", "-"], input: "map rwan 10.0.0.0/24 -> 0/32 portmap tcp/udp 1024:65535\n")
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000"])
      let port = try daemon.map("udp", internalPort: 8080, lifetime: 60)
      let answers = try lab.probe(lab.inside, ["udp", "192.0.2.2", "7000", "--bind", "10.0.0.2", "--sport", "8080"])
        .compactMap(Answer.init)
      #expect(answers.map { "\($0.peerAddress):\($0.peerPort)" } == ["192.0.2.1:\(port)"])
      // Another port of the client is ipnat's to translate, as before.
      let other = try lab.probe(lab.inside, ["udp", "192.0.2.2", "7000", "--bind", "10.0.0.2", "--sport", "8081"])
        .compactMap(Answer.init)
      #expect(other.map(\.peerAddress) == ["192.0.2.1"] && other.map(\.peerPort) != [port])
    }
  }

  /// A deleted mapping ends the flows it carried: the same flow from outside, sent again, no
  /// longer reaches the client (RFC 6886 §3.4).
  @Test func aDeletedMappingStopsItsFlow() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      try lab.start(lab.inside, ["serve", "10.0.0.2:5000"])
      let port = try daemon.map("udp", internalPort: 5000, lifetime: 60)
      #expect(try Self.peer(lab, port: port) == "10.0.0.2 5000")
      _ = try daemon.natpmpc(["-a", String(port), "5000", "udp", "0"])
      try waitUntil("the mapping is gone", seconds: 1) { daemon.elements.isEmpty }
      #expect(try Self.peer(lab, port: port) == nil)
    }
  }

  /// So does one that expires: within a second of its end.
  @Test func anExpiredMappingStopsItsFlow() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      try lab.start(lab.inside, ["serve", "10.0.0.2:5000"])
      let port = try daemon.map("udp", internalPort: 5000, lifetime: 2)
      #expect(try Self.peer(lab, port: port) == "10.0.0.2 5000")
      usleep(3_100_000)
      #expect(try Self.peer(lab, port: port) == nil)
    }
  }

  /// A port given to another client after its mapping ended reaches only the new client, even
  /// for a peer that kept sending to it.
  @Test func aReassignedPortReachesOnlyItsNewClient() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      try lab.start(lab.inside, ["serve", "10.0.0.2:5000", "10.0.0.3:5000"])
      #expect(try Self.map(lab, from: "10.0.0.2", internalPort: 5000, suggesting: 50600, lifetime: 60) == 50600)
      let port = 50600
      #expect(try Self.peer(lab, port: port) == "10.0.0.2 5000")
      #expect(try Self.map(lab, from: "10.0.0.2", internalPort: 5000, suggesting: 0, lifetime: 0) == 0)
      #expect(try Self.map(lab, from: "10.0.0.3", internalPort: 5000, suggesting: 50600, lifetime: 60) == 50600)
      #expect(try Self.peer(lab, port: port) == "10.0.0.3 5000")
    }
  }

  /// A peer that sent to the port before the mapping existed gets through once it does: its
  /// untranslated entry does not outlive the new mapping.
  @Test func anEarlyPeerGetsThroughOnceMapped() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      try lab.start(lab.inside, ["serve", "10.0.0.2:5000"])
      #expect(try Self.peer(lab, port: 50700) == nil)
      #expect(try daemon.natpmpc(["-a", "50700", "5000", "udp", "60"]).contains("Mapped public port 50700"))
      #expect(try Self.peer(lab, port: 50700) == "10.0.0.2 5000")
    }
  }

  /// What the client at the inside sees of one datagram from the outside host's port 46000 to
  /// the external port (`ADDRESS PORT`), or nil when it does not arrive. Always the same flow.
  static func peer(_ lab: Lab, port: Int) throws -> String? {
    let answer = try lab.probe(lab.outside, ["udp", "192.0.2.1", String(port), "--sport", "46000"]).compactMap(Answer.init).first
    return answer.map { "\($0.localAddress) \($0.localPort)" }
  }

  /// A raw UDP mapping request from `address`; the external port granted, or nil on an error.
  static func map(_ lab: Lab, from address: String, internalPort: UInt16, suggesting suggested: UInt16,
                  lifetime: UInt32) throws -> Int? {
    let ports: [UInt8] = [internalPort, suggested].flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    let seconds: [UInt8] = [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: lifetime >> $0) }
    let request: [UInt8] = [0, 1, 0, 0] + ports + seconds
    let hex = request.map { byte -> String in
      let digits = String(byte, radix: 16)
      return digits.count == 1 ? "0" + digits : digits
    }.joined()
    let reply = try lab.probe(lab.inside, ["natpmp", "10.0.0.1", hex, "--bind", address])
    guard let text = reply.first, text.count == 32, text.dropFirst(4).prefix(4) == "0000" else { return nil }
    return Int(text.dropFirst(20).prefix(4), radix: 16)
  }
}
