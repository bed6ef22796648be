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
    // 60 bytes, then the options the daemon processed.
    guard let reply = try daemon.lab.askDaemon(request, from: "10.0.0.2"), reply.count >= 120,
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

  /// A FILTER option (§13.3) for one IPv4 peer network and port (0: any).
  static func filter(_ address: [UInt8], prefixLength: UInt8, port: UInt16 = 0) -> [UInt8] {
    [3, 0, 0, 20, 0, prefixLength, UInt8(port >> 8), UInt8(port & 0xff)] + [UInt8](repeating: 0, count: 10)
      + [0xff, 0xff] + address
  }

  /// FILTER (RFC 6887 §13.3) in the kernel, with the outside host's ports as peers: only the
  /// listed peer gets through; a filter put on a mapping in use ends the flows of peers it
  /// refuses; prefix length 0 opens the mapping again, to a peer refused a moment before too.
  @Test func filterLetsOnlyTheListedPeerThrough() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      try lab.start(lab.inside, ["serve", "10.0.0.2:5000"])
      let request = { (options: [UInt8]) in Self.mapRequest(17, internalPort: 5000, lifetime: 600, options: options) }
      let port = try #require(try Self.mapped(daemon, request([]))?.port)
      #expect(try LiveTrafficTests.peer(lab, port: port, from: 46001) == "10.0.0.2 5000", "a flow before the filter")

      #expect(try Self.mapped(daemon, request(Self.filter([192, 0, 2, 2], prefixLength: 128, port: 46000)))?.port == port)
      LiveTrafficTests.settle()
      #expect(try LiveTrafficTests.peer(lab, port: port, from: 46000) == "10.0.0.2 5000")
      #expect(try LiveTrafficTests.peer(lab, port: port, from: 46001) == nil, "the earlier flow ended with the filter")
      #expect(try LiveTrafficTests.peer(lab, port: port, from: 46002) == nil)
      #expect(daemon.elements.isEmpty, "a filtered mapping has no element open to every peer")
      // The filter outlives a restart of the daemon, as the mapping does.
      try daemon.stop(with: SIGKILL)
      try daemon.restart()
      #expect(daemon.table.contains("udp . \(port) . 192.0.2.2 . 46000 timeout"), "\(daemon.table)")
      #expect(try LiveTrafficTests.peer(lab, port: port, from: 46000) == "10.0.0.2 5000")
      #expect(try LiveTrafficTests.peer(lab, port: port, from: 46003) == nil)

      #expect(try Self.mapped(daemon, request(Self.filter([0, 0, 0, 0], prefixLength: 0)))?.result == 0)
      LiveTrafficTests.settle()
      #expect(try LiveTrafficTests.peer(lab, port: port, from: 46002) == "10.0.0.2 5000", "a refused peer, once open")

      #expect(try Self.mapped(daemon, request(Self.filter([198, 51, 100, 0], prefixLength: 120)))?.result == 0)
      LiveTrafficTests.settle()
      #expect(try LiveTrafficTests.peer(lab, port: port, from: 46000) == nil, "another network only")
    }
  }

  /// THIRD_PARTY (§13.1): refused by default; with `third party 10.0.0.0/24`, 10.0.0.2 maps
  /// a port of 10.0.0.3, and traffic reaches 10.0.0.3.
  @Test func thirdPartyOnlyWhereTheConfigurationAllows() throws {
    let forHost3: [UInt8] = [1, 0, 0, 16] + [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 10, 0, 0, 3]
    try DaemonLab.with { daemon in
      let refused = try Self.mapped(daemon, Self.mapRequest(17, internalPort: 5000, lifetime: 600, options: forHost3))
      #expect(refused?.result == 2 && daemon.elements.isEmpty)
    }
    try DaemonLab.with(settings: "third party 10.0.0.0/24\n") { daemon in
      let lab = daemon.lab
      try lab.start(lab.inside, ["serve", "10.0.0.3:5000"])
      let granted = try #require(try Self.mapped(daemon, Self.mapRequest(17, internalPort: 5000, lifetime: 600,
                                                                          options: forHost3)))
      #expect(granted.result == 0)
      #expect(try LiveTrafficTests.peer(lab, port: granted.port) == "10.0.0.3 5000")
    }
  }

  /// natpmpc and PCP at the same moment on the daemon's one port: each gets its mapping.
  @Test func natpmpcAndPCPAtOnce() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      let script = "for i in 1 2 3 4 5; do \"$0\" -g 10.0.0.1 -a 0 6000 udp 600; done > \"$1\" 2>&1"
      let natpmpc = try lab.spawnCommand(lab.inside, ["/bin/sh", "-c", script, DaemonLab.natpmpcPath, lab.logPath("natpmpc")])
      var pcpPorts: Set<Int> = []
      for _ in 0..<5 {
        let answer = try #require(try Self.mapped(daemon, Self.mapRequest(17, internalPort: 5000, lifetime: 600)))
        #expect(answer.result == 0)
        pcpPorts.insert(answer.port)
      }
      try waitUntil("natpmpc is done") { !natpmpc.isRunning }
      let natpmpcPorts = Set(lab.log("natpmpc").filter { $0.hasPrefix("Mapped public port") }
        .compactMap { Int($0.split(separator: " ")[3]) })
      #expect(pcpPorts.count == 1 && natpmpcPorts.count == 1 && pcpPorts != natpmpcPorts, "\(lab.log("natpmpc"))")
      #expect(lab.log("natpmpc").filter { $0.hasPrefix("Mapped public port") }.count == 5)
      #expect(daemon.elements.count == 2)
      let listing = try lab.run(lab.router, [Shell.ipnatPath, "natpmpd", "-l"]).split(separator: "\n")
      #expect(listing.contains { $0.contains("10.0.0.2:6000") && $0.contains("NAT-PMP") }, "\(listing)")
      #expect(listing.contains { $0.contains("10.0.0.2:5000") && $0.contains("PCP") }, "\(listing)")
    }
  }

  /// One table for both protocols: what natpmpc mapped, PCP renews to the same port, and the
  /// listing names the protocol that renewed it last.
  @Test func aNATPMPMappingIsThePCPMapping() throws {
    try DaemonLab.with { daemon in
      let lab = daemon.lab
      let port = try daemon.map("udp", internalPort: 5000, lifetime: 600)
      #expect(try Self.mapped(daemon, Self.mapRequest(17, internalPort: 5000, lifetime: 600))?.port == port)
      #expect(daemon.elements.count == 1 && daemon.elements[0].contains("comment \"PCP\""), "\(daemon.elements)")
      #expect(try daemon.map("udp", internalPort: 5000, lifetime: 600) == port)
      #expect(daemon.elements.count == 1)
      let listing = try lab.run(lab.router, [Shell.ipnatPath, "natpmpd", "-l"])
      #expect(listing.contains("10.0.0.2:5000") && listing.contains("NAT-PMP"), "\(listing)")
      // A table: each value starts under its heading, and 600 s to live read as minutes and seconds.
      let lines = listing.split(separator: "\n")
      let header = try #require(lines.first), row = try #require(lines.last)
      for (heading, value) in [("CLIENT", "10.0.0.2:5000"), ("BY", "NAT-PMP")] {
        let column = try #require(header.firstRange(of: heading)).lowerBound
        let start = try #require(row.firstRange(of: value), "\(listing)").lowerBound
        #expect(header.distance(from: header.startIndex, to: column) == row.distance(from: row.startIndex, to: start), "\(listing)")
      }
      #expect(row.contains(/\ (10m00s|9m[0-5][0-9]s)\ /), "\(listing)")
      // Two hours to live read as hours, minutes and seconds.
      _ = try daemon.map("tcp", internalPort: 5001, lifetime: 7200)
      let longer = try lab.run(lab.router, [Shell.ipnatPath, "natpmpd", "-l"]).split(separator: "\n")
      let longRow = try #require(longer.first { $0.contains("10.0.0.2:5001") }, "\(longer)")
      #expect(longRow.contains(/\ (2h00m00s|1h59m[0-5][0-9]s)\ /), "\(longer)")
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
