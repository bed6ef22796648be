import Foundation
import TestSupport
import Testing

/// PCP (RFC 6887) beside NAT-PMP on the daemon's port, with raw requests from the lab's client,
/// 10.0.0.2: the same mappings, the same traffic.
@Suite(.serialized, .enabled(if: DaemonLab.isAvailable, "needs root, ip, nft, python3 and natpmpc"))
struct PCPDaemonTests {
  static let nonce: [UInt8] = Array(1...12)

  /// A PCP MAP request from 10.0.0.2.
  static func mapRequest(_ protocolNumber: UInt8, internalPort: UInt16, lifetime: UInt32, nonce: [UInt8] = nonce,
                         suggestedPort: UInt16 = 0, options: [UInt8] = []) -> [UInt8] {
    var bytes: [UInt8] = [2, 1, 0, 0] + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: lifetime >> $0) }
    bytes += [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 10, 0, 0, 2]
    bytes += nonce + [protocolNumber, 0, 0, 0, UInt8(internalPort >> 8), UInt8(internalPort & 0xff)]
    return bytes + [UInt8(suggestedPort >> 8), UInt8(suggestedPort & 0xff)] + [UInt8](repeating: 0, count: 16) + options
  }

  /// The result code and external port of the answer to a PCP MAP request, or nil for no answer.
  static func mapped(_ daemon: DaemonLab, _ request: [UInt8]) throws -> (result: Int, port: Int)? {
    guard let reply = try daemon.lab.askDaemon(request, from: "10.0.0.2"), reply.count == 120,
      let result = Int(reply.dropFirst(6).prefix(2), radix: 16),
      let port = Int(reply.dropFirst(84).prefix(4), radix: 16)
    else { return nil }
    return (result, port)
  }

  @Test func aMapCarriesADatagramAndAConnectionAndEndsWithItsDeletion() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      try lab.start(lab.inside, ["serve", "10.0.0.2:5000"])
      let udp = try #require(try Self.mapped(daemon, Self.mapRequest(17, internalPort: 5000, lifetime: 600)))
      let tcp = try #require(try Self.mapped(daemon, Self.mapRequest(6, internalPort: 5000, lifetime: 600)))
      #expect(udp.result == 0 && tcp.result == 0 && udp.port == tcp.port)
      #expect(try LiveTrafficTests.peer(lab, port: udp.port) == "10.0.0.2 5000")
      let connection = try lab.probe(lab.outside, ["tcp", "192.0.2.1", String(tcp.port)]).compactMap(Answer.init).first
      #expect(connection?.localAddress == "10.0.0.2" && connection?.localPort == 5000)
      // A renewal keeps the port; another nonce may not touch the mapping.
      #expect(try Self.mapped(daemon, Self.mapRequest(17, internalPort: 5000, lifetime: 600))?.port == udp.port)
      let stranger = [UInt8](repeating: 7, count: 12)
      #expect(try Self.mapped(daemon, Self.mapRequest(17, internalPort: 5000, lifetime: 0, nonce: stranger))?.result == 2)
      #expect(try Self.mapped(daemon, Self.mapRequest(17, internalPort: 5000, lifetime: 0))?.result == 0)
      LiveTrafficTests.settle()
      #expect(try LiveTrafficTests.peer(lab, port: udp.port) == nil)
    }
  }

  /// PREFER_FAILURE (RFC 6887 §13.2): the suggested port or nothing. The granted port carries
  /// traffic; a second request for the same port fails with CANNOT_PROVIDE_EXTERNAL and leaves
  /// the kernel's table as it was.
  @Test func preferFailureGetsTheSuggestedPortOrNothing() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      try lab.start(lab.inside, ["serve", "10.0.0.2:5000"])
      let preferFailure: [UInt8] = [2, 0, 0, 0]
      let granted = try Self.mapped(daemon, Self.mapRequest(17, internalPort: 5000, lifetime: 600,
                                                            suggestedPort: 50000, options: preferFailure))
      #expect(granted?.result == 0 && granted?.port == 50000)
      #expect(try LiveTrafficTests.peer(lab, port: 50000) == "10.0.0.2 5000")
      let refused = try Self.mapped(daemon, Self.mapRequest(17, internalPort: 5001, lifetime: 600,
                                                            suggestedPort: 50000, options: preferFailure))
      #expect(refused?.result == 11)
      #expect(daemon.elements.count == 1)
    }
  }

  /// One table for both protocols: what natpmpc mapped, PCP renews to the same port.
  @Test func aNATPMPMappingIsThePCPMapping() throws {
    try DaemonLab.with { daemon in
      let port = try daemon.map("udp", internalPort: 5000, lifetime: 600)
      #expect(try Self.mapped(daemon, Self.mapRequest(17, internalPort: 5000, lifetime: 600))?.port == port)
      #expect(try daemon.map("udp", internalPort: 5000, lifetime: 600) == port)
      #expect(daemon.elements.count == 1)
    }
  }

  /// PCP's unsolicited ANNOUNCE goes to 224.0.0.1:5350 beside NAT-PMP's announcement.
  @Test func announcesItselfBesideNATPMP() throws {
    try withLab { lab in
      try lab.start(lab.inside, ["listen-multicast", "224.0.0.1", "5350", lab.logPath("announcements"),
                                 "--interface-address", "10.0.0.2", "--seconds", "5"])
      lab.waitForLog("announcements")
      _ = try DaemonLab(lab: lab)
      try waitUntil("a PCP announcement") {
        lab.log("announcements").contains { $0.split(separator: " ").last?.hasPrefix("02800000") == true }
      }
    }
  }
}
