import Foundation
import TestSupport
import Testing

/// natpmpd with the real client, natpmpc, in the lab: client (inside, 10.0.0.2) — gateway
/// (router: rlan 10.0.0.1, rwan 192.0.2.1) — outside (192.0.2.2). Traffic from outside must
/// reach the client through each mapping, and only while it exists.
@Suite(.serialized, .enabled(if: DaemonLab.isAvailable, "needs root, ip, nft, python3 and natpmpc"))
struct NATPMPClientTests {
  @Test func announcesThePublicAddress() throws {
    try DaemonLab.with { daemon in
      let output = try daemon.natpmpc([])
      #expect(output.contains("Public IP address : 192.0.2.1"), "\(output)")
    }
  }

  @Test func aUDPMappingCarriesDatagramsFromOutsideToTheClient() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      try lab.start(lab.inside, ["serve", "10.0.0.2:5000"])
      let port = try daemon.map("udp", internalPort: 5000, lifetime: 60)
      #expect((49152...65535).contains(port))
      let answers = try lab.probe(lab.outside, ["udp", "192.0.2.1", String(port)]).compactMap(Answer.init)
      // The client saw the outside host's own address: the mapping translated the destination only.
      #expect(answers.map(\.text) == ["192.0.2.2 \(answers.first?.peerPort ?? 0) 10.0.0.2 5000"])
      #expect(daemon.elements.count == 1)
    }
  }

  @Test func aTCPMappingCarriesConnectionsAndSharesItsPortWithUDP() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      try lab.start(lab.inside, ["serve", "10.0.0.2:6000"])
      let tcp = try daemon.map("tcp", internalPort: 6000, lifetime: 60)
      let udp = try daemon.map("udp", internalPort: 6000, lifetime: 60)
      #expect(tcp == udp)
      let answer = try lab.probe(lab.outside, ["tcp", "192.0.2.1", String(tcp)]).compactMap(Answer.init).first
      #expect(answer?.localAddress == "10.0.0.2" && answer?.localPort == 6000, "\(String(describing: answer))")
      #expect(daemon.elements.count == 2)
    }
  }

  @Test func deletionEndsTheMapping() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      try lab.start(lab.inside, ["serve", "10.0.0.2:5000"])
      let port = try daemon.map("udp", internalPort: 5000, lifetime: 60)
      #expect(try lab.probe(lab.outside, ["udp", "192.0.2.1", String(port)]).compactMap(Answer.init).count == 1)
      let output = try daemon.natpmpc(["-a", "0", "5000", "udp", "0"])
      #expect(output.contains("Mapped public port 0 protocol UDP to local port 5000 liftime 0"), "\(output)")
      #expect(daemon.elements.isEmpty)
      #expect(try lab.probe(lab.outside, ["udp", "192.0.2.1", String(port)]) == ["timeout"])
    }
  }

  @Test func mappingsExpireInTheKernelEvenAfterTheDaemonDied() throws {
    try DaemonLab.with { daemon in
      _ = try daemon.map("udp", internalPort: 5000, lifetime: 2)
      #expect(daemon.elements.count == 1)
      try daemon.stop(with: SIGKILL)
      #expect(daemon.elements.count == 1, "SIGKILL leaves the table to the kernel")
      try waitUntil("the kernel drops the element", seconds: 6) { daemon.elements.isEmpty }
    }
  }

  @Test func aRenewalKeepsThePortAndNeverInterruptsTheMapping() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      try lab.start(lab.inside, ["serve", "10.0.0.2:5000"])
      let first = try daemon.map("udp", internalPort: 5000, lifetime: 3)
      // A stream of datagrams from outside while the client renews, well past the first lifetime.
      let stream = try lab.spawn(lab.outside, ["udp", "192.0.2.1", String(first), "--count", "40"])
      for _ in 0..<4 {
        usleep(1_000_000)
        #expect(try daemon.map("udp", internalPort: 5000, lifetime: 3) == first)
      }
      stream.waitUntilExit()
      let replies = String(decoding: (stream.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        .split(separator: "\n")
      #expect(replies.count == 40 && !replies.contains("timeout"), "\(replies.filter { $0 == "timeout" }.count) timeouts")
    }
  }

  @Test func requestsFromOutsideAreIgnored() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      // Give the outside host a way to the listen address; the daemon must still not answer.
      _ = try lab.run(lab.outside, ["ip", "route", "add", "10.0.0.0/24", "via", "192.0.2.1"])
      #expect(try daemon.send(["0000", "000100001388000000000e10"], from: lab.outside) == ["timeout", "timeout"])
      #expect(try daemon.send(["0000"], from: lab.outside, to: "192.0.2.1") == ["timeout"])
      #expect(daemon.elements.isEmpty)
      #expect(daemon.log.contains { $0.contains("ignored a datagram from 192.0.2.2") })
      // The inside host is answered.
      #expect(try daemon.send(["0000"]).first?.hasSuffix("c0000201") == true)
    }
  }

  @Test func staticRdrRulesWinOverMappings() throws {
    try DaemonLab.with(settings: "external ports 7000-7000\n") { daemon in
      let lab = daemon.lab
      _ = try lab.run(lab.router, [Shell.ipnatPath, "load", "-"], input: "rdr rwan 192.0.2.1/32 port 7000 -> 10.0.0.3 port 7000 udp\n")
      try lab.start(lab.inside, ["serve", "10.0.0.2:5000", "10.0.0.3:7000"])
      #expect(try daemon.map("udp", internalPort: 5000, lifetime: 60) == 7000)
      let answer = try lab.probe(lab.outside, ["udp", "192.0.2.1", "7000"]).compactMap(Answer.init).first
      #expect(answer?.localAddress == "10.0.0.3", "ipnat's rdr rule comes first")
    }
  }
}
