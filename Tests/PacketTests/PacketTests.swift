import IPNatKit
import TestSupport
import Testing

/// Real traffic through a router namespace loaded with a compiled ruleset; the far side reports
/// the addresses and ports it saw (`Tests/TestSupport/Tools/probe.py`). One lab per test, torn down afterwards.
@Suite(.serialized, .enabled(if: Lab.isAvailable, "needs root, iproute2, nft and python3"))
struct PacketTests {
  // MARK: - map

  @Test func masquerade() throws {
    try withLab { lab in
      try lab.load("map rwan 10.0.0.0/24 -> 0/32\n")
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000"])
      let answers = try lab.probe(lab.inside, ["udp", "192.0.2.2", "7000", "--bind", "10.0.0.2", "--count", "2"]).compactMap(Answer.init)
      #expect(answers.count == 2)
      #expect(answers.allSatisfy { $0.peerAddress == "192.0.2.1" })
      let tcp = try lab.probe(lab.inside, ["tcp", "192.0.2.2", "7000", "--bind", "10.0.0.3"]).compactMap(Answer.init)
      #expect(tcp.map(\.peerAddress) == ["192.0.2.1"])
    }
  }

  @Test func poolNeverUsesNetworkOrBroadcastAddress() throws {
    try withLab { lab in
      try lab.load("map rwan 10.0.0.0/24 -> 203.0.113.0/30\n")
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000", "192.0.2.2:7001", "192.0.2.2:7002"])
      var seen: Set<String> = []
      for port in ["7000", "7001", "7002"] {
        for source in ["10.0.0.2", "10.0.0.3", "10.0.0.5", "10.0.0.6"] {
          let answers = try lab.probe(lab.inside, ["udp", "192.0.2.2", port, "--bind", source]).compactMap(Answer.init)
          #expect(answers.count == 1)
          seen.formUnion(answers.map(\.peerAddress))
        }
      }
      #expect(!seen.isEmpty)
      #expect(seen.isSubset(of: ["203.0.113.1", "203.0.113.2"]), "saw \(seen)")
    }
  }

  @Test func portmapRange() throws {
    try withLab { lab in
      try lab.load("map rwan 10.0.0.0/24 -> 203.0.113.1/32 portmap tcp/udp 10000:10099\nmap rwan 10.0.0.0/24 -> 203.0.113.1/32\n")
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000"])
      let udp = try lab.probe(lab.inside, ["udp", "192.0.2.2", "7000", "--count", "3", "--sport", "40000"]).compactMap(Answer.init)
      let tcp = try lab.probe(lab.inside, ["tcp", "192.0.2.2", "7000", "--count", "2"]).compactMap(Answer.init)
      #expect(udp.count == 3 && tcp.count == 2)
      for answer in udp + tcp {
        #expect(answer.peerAddress == "203.0.113.1")
        #expect((10000...10099).contains(answer.peerPort), "port \(answer.peerPort)")
      }
    }
  }

  @Test func mapBlockGivesTwoHostsTheirOwnBlocks() throws {
    // /24 -> /30 ports auto: A = 64 hosts per address, P = 1008 ports each;
    // host .2 owns 3040-4047 and host .3 owns 4048-5055, both on 203.0.113.0.
    try withLab { lab in
      try lab.load("map-block rwan 10.0.0.0/24 -> 203.0.113.0/30 ports auto\n")
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000"])
      let first = try lab.probe(lab.inside, ["udp", "192.0.2.2", "7000", "--bind", "10.0.0.2", "--sport", "40000", "--count", "2"]).compactMap(Answer.init)
      let second = try lab.probe(lab.inside, ["tcp", "192.0.2.2", "7000", "--bind", "10.0.0.3", "--count", "2"]).compactMap(Answer.init)
      #expect(first.count == 2 && second.count == 2)
      #expect(first.allSatisfy { $0.peerAddress == "203.0.113.0" && (3040...4047).contains($0.peerPort) }, "\(first.map(\.text))")
      #expect(second.allSatisfy { $0.peerAddress == "203.0.113.0" && (4048...5055).contains($0.peerPort) }, "\(second.map(\.text))")
    }
  }

  @Test func precedenceLongestPrefixFirst() throws {
    // The /32 rule comes later in the file but wins, as in IPFilter.
    try withLab { lab in
      try lab.load("map rwan 10.0.0.0/24 -> 203.0.113.1/32\nmap rwan 10.0.0.3/32 -> 203.0.113.3/32\n")
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000"])
      let general = try lab.probe(lab.inside, ["udp", "192.0.2.2", "7000", "--bind", "10.0.0.2"]).compactMap(Answer.init)
      let specific = try lab.probe(lab.inside, ["udp", "192.0.2.2", "7000", "--bind", "10.0.0.3"]).compactMap(Answer.init)
      #expect(general.map(\.peerAddress) == ["203.0.113.1"])
      #expect(specific.map(\.peerAddress) == ["203.0.113.3"])
    }
  }

  @Test func icmpidmap() throws {
    try withLab { lab in
      try lab.load("map rwan 10.0.0.0/24 -> 203.0.113.1/32 icmpidmap icmp 64000:64999\n")
      try lab.start(lab.outside, ["sniff-icmp", lab.logPath("icmp")])
      lab.waitForLog("icmp")
      let replies = try lab.probe(lab.inside, ["ping", "192.0.2.2", "--ident", "4321", "--count", "3"])
      #expect(replies == ["reply id=4321", "reply id=4321", "reply id=4321"], "the reply gets its id back")
      let seen = lab.log("icmp").filter { $0.hasPrefix("echo") }
      #expect(!seen.isEmpty)
      for line in seen {
        #expect(line.hasPrefix("echo from=203.0.113.1 id="), "\(line)")
        let id = Int(line.split(separator: "=").last ?? "") ?? 0
        #expect((64000...64999).contains(id), "\(line)")
      }
    }
  }

  @Test func mssclampBothWays() throws {
    try withLab { lab in
      try lab.load("map rwan 10.0.0.0/24 -> 0/32 mssclamp 1300\n")
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000"])
      let clamped = try #require(try lab.probe(lab.inside, ["tcp", "192.0.2.2", "7000"]).compactMap(Answer.init).first)
      #expect(try #require(clamped.value(of: "mss")) <= 1300, "the server saw the clamped SYN: \(clamped.text)")
      #expect(try #require(clamped.value(of: "client-mss")) <= 1300, "the client saw the clamped SYN-ACK: \(clamped.text)")
      // Without the option the same connection keeps the veth's larger MSS: the clamp did it.
      try lab.load("map rwan 10.0.0.0/24 -> 0/32\n")
      let plain = try #require(try lab.probe(lab.inside, ["tcp", "192.0.2.2", "7000"]).compactMap(Answer.init).first)
      #expect(try #require(plain.value(of: "mss")) > 1300)
    }
  }

  @Test func activeFTPThroughTheHelper() throws {
    try withLab { lab in
      try lab.load("map rwan 10.0.0.0/24 -> 0/32 proxy port ftp ftp/tcp\nmap rwan 10.0.0.0/24 -> 0/32\n")
      try lab.start(lab.outside, ["ftp-server", "192.0.2.2", lab.logPath("ftp")])
      let listing = try lab.probe(lab.inside, ["ftp-client", "192.0.2.2"])
      #expect(listing == ["listing-from-probe"])
      let log = lab.log("ftp")
      #expect(log.first?.hasPrefix("PORT 192.0.2.1 ") == true, "the helper rewrote PORT: \(log)")
      #expect(log.contains("data connection ok"))
    }
  }

  /// IPFilter's h323 proxy becomes Linux's H.323 call-signalling helper ("Q.931"): the call's
  /// TCP connection through the router is translated and carries the helper, which follows the
  /// channels the call announces. (Modern kernels assign no helper by port: without the rule's
  /// `ct helper set`, the entry would have none.)
  @Test(.enabled(if: canListConntrack, "needs conntrack-tools"))
  func h323CallSignallingCarriesTheHelper() throws {
    try withLab { lab in
      try lab.load("map rwan 10.0.0.0/24 -> 0/32 proxy port 1720 h323/tcp\nmap rwan 10.0.0.0/24 -> 0/32\n")
      try lab.start(lab.outside, ["serve", "192.0.2.2:1720"])
      let answer = try #require(try lab.probe(lab.inside, ["tcp", "192.0.2.2", "1720"]).compactMap(Answer.init).first)
      #expect(answer.peerAddress == "192.0.2.1")
      let listing = try lab.run(lab.router, [conntrackPath, "-L", "-p", "tcp", "--dport", "1720"])
      #expect(listing.contains("helper=Q.931"), "\(listing)")
    }
  }

  /// The helper at work: the caller's SETUP announces its own H.245 address, the helper
  /// rewrites it to the router's outside address and expects the H.245 connection there, and
  /// the callee's connection to that address reaches the caller, as through IPFilter's proxy.
  @Test func h323ControlChannelThroughTheHelper() throws {
    try withLab { lab in
      try lab.load("map rwan 10.0.0.0/24 -> 0/32 proxy port 1720 h323/tcp\nmap rwan 10.0.0.0/24 -> 0/32\n")
      try lab.start(lab.outside, ["h323-server", "192.0.2.2", lab.logPath("h323")])
      let received = try lab.probe(lab.inside, ["h323-client", "192.0.2.2"])
      #expect(received == ["h245-from-probe"])
      let log = lab.log("h323")
      #expect(log.first?.hasPrefix("H245 192.0.2.1 ") == true, "the helper rewrote the H.245 address: \(log)")
      #expect(log.contains("h245 connection ok"), "\(log)")
    }
  }

  /// IPFilter's ipsec proxy translates the ESP between the hosts of the rule's IKE sessions
  /// to the same new address; ipnat's rule for ESP beside the IKE rule does that job. Both
  /// the IKE datagram and the ESP packet reach the peer from the new address, and the peer's
  /// ESP answer comes back to the inside host. Nothing else maps ESP here.
  @Test func ipsecProxyTranslatesIKEAndESPAlike() throws {
    try withLab { lab in
      try lab.load("map rwan 10.0.0.0/24 -> 203.0.113.5/32 proxy port 500 ipsec/udp\n")
      try lab.start(lab.outside, ["serve", "192.0.2.2:500"])
      try lab.start(lab.outside, ["esp-server", lab.logPath("esp")])
      lab.waitForLog("esp")
      let ike = try lab.probe(lab.inside, ["udp", "192.0.2.2", "500", "--bind", "10.0.0.2", "--sport", "500"]).compactMap(Answer.init)
      #expect(ike.map(\.peerAddress) == ["203.0.113.5"])
      let answer = try lab.probe(lab.inside, ["esp-client", "192.0.2.2", "--bind", "10.0.0.2", "--spi", "4096"])
      #expect(answer == ["reply spi=4097"], "the peer's ESP came back to the inside host")
      #expect(lab.log("esp").contains("esp from=203.0.113.5 spi=4096"), "\(lab.log("esp"))")
    }
  }

  /// `portmap … sequential`: the rule's counter hands out the ports in order from the range's
  /// low end and starts again after its high end (IPFilter's test n18: `1:4 sequential` gives
  /// 1, 2, 3, 4, 1, …). The fifth flow goes to another server port, so 40000 is free again.
  @Test func sequentialPortsGoInOrderFromTheLowEnd() throws {
    try withLab { lab in
      try lab.load("map rwan 10.0.0.0/24 -> 203.0.113.7/32 portmap udp 40000:40003 sequential\n")
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000", "192.0.2.2:7001"])
      let first = try lab.datagrams(from: lab.inside, to: "192.0.2.2", port: 7000, sourcePort: 41000, count: 4)
      #expect(first.map(\.peerAddress) == Array(repeating: "203.0.113.7", count: 4))
      #expect(first.map(\.peerPort) == [40000, 40001, 40002, 40003])
      let wrapped = try lab.datagrams(from: lab.inside, to: "192.0.2.2", port: 7001, sourcePort: 42000, count: 2)
      #expect(wrapped.map(\.peerPort) == [40000, 40001])
    }
  }

  /// A pool with a port range: IPFilter's address counter starts at the first host and moves
  /// on each time the port counter has gone once round the range (IPFilter's tests n2 and n5),
  /// so with two ports the first two sessions get the first host, the next two the second.
  @Test func poolsMoveToTheNextAddressWhenThePortsGoRound() throws {
    try withLab { lab in
      try lab.load("map rwan 10.0.0.0/24 -> 203.0.113.0/29 portmap udp 40000:40001 sequential\n")
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000"])
      let answers = try lab.datagrams(from: lab.inside, to: "192.0.2.2", port: 7000, sourcePort: 41000, count: 5)
      #expect(answers.map { "\($0.peerAddress) \($0.peerPort)" } == [
        "203.0.113.1 40000", "203.0.113.1 40001", "203.0.113.2 40000", "203.0.113.2 40001", "203.0.113.3 40000",
      ])
    }
  }

  /// A pool without portmap: IPFilter's counter starts at the first host and moves on only on a
  /// collision, so different hosts' sessions all get it (IPFilter's test n1), and a range gives
  /// its first address (n13). On a collision (two hosts, one source port, one server) IPFilter
  /// would take the next address and keep the port; Linux keeps the address and changes the port.
  @Test func poolsHandOutTheirFirstAddress() throws {
    try withLab { lab in
      try lab.load("map rwan 10.0.0.0/24 -> 203.0.113.0/24\n")
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000"])
      var seen: [String] = []
      for (host, port) in [("10.0.0.2", "41000"), ("10.0.0.3", "41001"), ("10.0.0.5", "41002")] {
        let answers = try lab.probe(lab.inside, ["udp", "192.0.2.2", "7000", "--bind", host, "--sport", port])
        seen += answers.compactMap(Answer.init).map { "\($0.peerAddress) \($0.peerPort)" }
      }
      #expect(seen == ["203.0.113.1 41000", "203.0.113.1 41001", "203.0.113.1 41002"])
      let collided = try lab.probe(lab.inside, ["udp", "192.0.2.2", "7000", "--bind", "10.0.0.6", "--sport", "41000"])
        .compactMap(Answer.init)
      #expect(collided.map(\.peerAddress) == ["203.0.113.1"] && collided.map(\.peerPort) != [41000])

      try lab.load("map rwan 10.0.0.0/24 -> range 203.0.113.23-203.0.113.45\n")
      let ranged = try lab.probe(lab.inside, ["udp", "192.0.2.2", "7000", "--bind", "10.0.0.3", "--sport", "43000"])
        .compactMap(Answer.init)
      #expect(ranged.map(\.peerAddress) == ["203.0.113.23"])
    }
  }

  // MARK: - rewrite

  /// `rewrite in`: a connection arriving on the WAN gets a new destination and a new source
  /// (with a port from the range) in one session, and its replies find their way back.
  @Test func rewriteInChangesBothEnds() throws {
    try expectRewrite("""
      rewrite in on rwan proto tcp from 192.0.2.2/32 to 192.0.2.1/32 port = 80 -> src 10.0.0.1/32,40000-40010 dst 10.0.0.5/32 port = 8080;
      """, server: ("inside", "10.0.0.5:8080"), client: ("outside", ["tcp", "192.0.2.1", "80"]), newSource: "10.0.0.1")
  }

  /// `rewrite out`: a datagram the router would send out of the WAN is sent to another host and
  /// port, from a new source; the reply comes back as if from the address first asked.
  @Test func rewriteOutChangesBothEnds() throws {
    try expectRewrite("""
      rewrite out on rwan proto udp from 10.0.0.2/32 to 192.0.2.200/32 port = 53 -> src 203.0.113.7/32,40000-40010 dst 192.0.2.2/32 port = 7000;
      """, server: ("outside", "192.0.2.2:7000"), client: ("inside", ["udp", "192.0.2.200", "53", "--bind", "10.0.0.2"]),
      newSource: "203.0.113.7")
  }

  /// Loads `rule`, serves at `server`, connects from `client`: the server must see the new
  /// source with a port of 40000-40010, at its own address and port.
  private func expectRewrite(_ rule: String, server: (side: String, address: String), client: (side: String, probe: [String]),
                             newSource: String) throws {
    try withLab { lab in
      try lab.load(rule + "\n")
      let namespace = { (side: String) in side == "inside" ? lab.inside : lab.outside }
      try lab.start(namespace(server.side), ["serve", server.address])
      let answer = try #require(try lab.probe(namespace(client.side), client.probe).compactMap(Answer.init).first)
      #expect("\(answer.localAddress):\(answer.localPort)" == server.address)
      #expect(answer.peerAddress == newSource && (40000...40010).contains(answer.peerPort), "\(answer.text)")
    }
  }

  /// `src 0/0` keeps the source; a network as the new destination hands out its hosts in turn,
  /// from network + 1, as IPFilter enumerates it.
  @Test func rewriteInHandsOutANetworksHostsInTurn() throws {
    try withLab { lab in
      try lab.load("rewrite in on rwan proto udp from 192.0.2.2/32 to 192.0.2.1/32 -> src 0/0 dst 10.0.0.4/30;\n")
      try lab.start(lab.inside, ["serve", "10.0.0.5:7000", "10.0.0.6:7000"])
      let answers = try lab.datagrams(from: lab.outside, to: "192.0.2.1", port: 7000, sourcePort: 45000, count: 3)
      #expect(answers.map(\.localAddress) == ["10.0.0.5", "10.0.0.6", "10.0.0.5"])
      #expect(answers.allSatisfy { $0.peerAddress == "192.0.2.2" })
    }
  }

  /// A port range and a network together: each new connection moves one of them on, in turn
  /// (IPFilter's odometer, tests n103 and n104), so a host serves two connections before the
  /// next; the port within the range is the kernel's choice, a free one.
  @Test func rewriteMovesOneFieldOnPerConnection() throws {
    try withLab { lab in
      try lab.load("rewrite in on rwan proto udp from 192.0.2.2/32 to 192.0.2.1/32 -> src 0/0,40000-40001 dst 10.0.0.4/30;\n")
      try lab.start(lab.inside, ["serve", "10.0.0.5:7000", "10.0.0.6:7000"])
      let answers = try lab.datagrams(from: lab.outside, to: "192.0.2.1", port: 7000, sourcePort: 45100, count: 4)
      #expect(answers.map(\.localAddress) == ["10.0.0.5", "10.0.0.5", "10.0.0.6", "10.0.0.6"])
      #expect(answers.allSatisfy { $0.peerAddress == "192.0.2.2" })
      #expect(Set(answers.prefix(2).map(\.peerPort)) == [40000, 40001] && Set(answers.suffix(2).map(\.peerPort)) == [40000, 40001])
    }
  }

  // MARK: - bimap

  @Test func bimapBothWays() throws {
    try withLab { lab in
      try lab.load("bimap rwan 10.0.0.5/32 -> 198.51.100.5/32\n")
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000"])
      try lab.start(lab.inside, ["serve", "10.0.0.5:8000"])
      let outbound = try lab.probe(lab.inside, ["udp", "192.0.2.2", "7000", "--bind", "10.0.0.5", "--sport", "45000"]).compactMap(Answer.init)
      #expect(outbound.map(\.peerAddress) == ["198.51.100.5"])
      #expect(outbound.map(\.peerPort) == [45000], "bimap keeps the port")
      let inbound = try lab.probe(lab.outside, ["tcp", "198.51.100.5", "8000"]).compactMap(Answer.init)
      #expect(inbound.map(\.localAddress) == ["10.0.0.5"])
      #expect(inbound.map(\.peerAddress) == ["192.0.2.2"])
    }
  }

  // MARK: - rdr

  @Test func rdrWithPortChange() throws {
    try withLab { lab in
      try lab.load("rdr rwan 192.0.2.1/32 port 80 -> 10.0.0.5 port 8080 tcp\n")
      try lab.start(lab.inside, ["serve", "10.0.0.5:8080"])
      let answers = try lab.probe(lab.outside, ["tcp", "192.0.2.1", "80"]).compactMap(Answer.init)
      #expect(answers.map { "\($0.localAddress):\($0.localPort)" } == ["10.0.0.5:8080"])
      #expect(answers.map(\.peerAddress) == ["192.0.2.2"], "rdr keeps the client's address")
    }
  }

  @Test func rdrRangeShift() throws {
    try withLab { lab in
      try lab.load("rdr rwan 192.0.2.1/32 port 100-102 -> 10.0.0.5 port 10100 tcp\n")
      try lab.start(lab.inside, ["serve", "10.0.0.5:10100", "10.0.0.5:10101", "10.0.0.5:10102"])
      for (external, target) in [(100, 10100), (101, 10101), (102, 10102)] {
        let answers = try lab.probe(lab.outside, ["tcp", "192.0.2.1", String(external)]).compactMap(Answer.init)
        #expect(answers.map(\.localPort) == [target], "port \(external)")
      }
    }
  }

  /// IPFilter's new port 0 is the packet's own (test n4): every port reaches the server unchanged.
  @Test func rdrPortZeroKeepsEveryPort() throws {
    try withLab { lab in
      try lab.load("rdr rwan 192.0.2.1/32 port 0 -> 10.0.0.5 port 0 tcp\n")
      try lab.start(lab.inside, ["serve", "10.0.0.5:23", "10.0.0.5:8081"])
      for port in [23, 8081] {
        let answers = try lab.probe(lab.outside, ["tcp", "192.0.2.1", String(port)]).compactMap(Answer.init)
        #expect(answers.map { "\($0.localAddress):\($0.localPort)" } == ["10.0.0.5:\(port)"], "port \(port)")
      }
    }
  }

  @Test func roundRobinOverTwoServers() throws {
    try withLab { lab in
      try lab.load("""
        rdr rwan 192.0.2.1/32 port 85 -> 10.0.0.5 port 8085 tcp round-robin
        rdr rwan 192.0.2.1/32 port 85 -> 10.0.0.6 port 8085 tcp round-robin

        """)
      try lab.startTwoServers()
      let answers = try lab.probe(lab.outside, ["tcp", "192.0.2.1", "85", "--count", "4"]).compactMap(Answer.init)
      #expect(answers.map(\.localAddress) == ["10.0.0.5", "10.0.0.6", "10.0.0.5", "10.0.0.6"])
    }
  }

  /// IPFilter's test ni17 in small: a sticky member remembers the clients it served, and one
  /// returning goes back to it without taking a turn; a client of the member without `sticky`
  /// is not remembered and takes the next turn.
  @Test func stickyMembersKeepTheirClientsWhileTheOthersRotate() throws {
    try withLab { lab in
      try lab.load("""
        rdr rwan 192.0.2.1/32 port 85 -> 10.0.0.5 port 8085 tcp round-robin
        rdr rwan 192.0.2.1/32 port 85 -> 10.0.0.6 port 8085 tcp round-robin sticky

        """)
      try lab.startTwoServers(outsideClients: ["192.0.2.3", "192.0.2.4"])
      var servers: [String] = []
      for client in ["192.0.2.2", "192.0.2.3", "192.0.2.3", "192.0.2.4", "192.0.2.2", "192.0.2.3"] {
        servers += try lab.server(of: client)
      }
      #expect(servers == ["10.0.0.5", "10.0.0.6", "10.0.0.6", "10.0.0.5", "10.0.0.6", "10.0.0.6"])
      // The two clients the sticky member served, as `ipnat list` shows IPFilter's hostmap.
      let listing = try lab.run(lab.router, [Shell.ipnatPath, "list"]).split(separator: "\n")
      let remembered = listing.drop { !$0.hasPrefix("clients sticky") }.dropFirst(2).map { line in
        line.split(separator: "  ").prefix(3).joined(separator: ", ")
      }
      #expect(remembered.sorted() == ["192.0.2.2, 192.0.2.1 port 85, 10.0.0.6", "192.0.2.3, 192.0.2.1 port 85, 10.0.0.6"],
              "\(listing)")
    }
  }

  /// An `ipnat load` that changes another rule leaves the remembered clients in place: after it,
  /// each client still goes back to its server, whichever turn is next.
  @Test func aReloadKeepsTheClientsStickyMembersRemember() throws {
    try withLab { lab in
      let group = """
        rdr rwan 192.0.2.1/32 port 85 -> 10.0.0.5 port 8085 tcp round-robin sticky
        rdr rwan 192.0.2.1/32 port 85 -> 10.0.0.6 port 8085 tcp round-robin sticky

        """
      let before = lab.logPath("before.conf"), after = lab.logPath("after.conf")
      writeFile(before, group)
      writeFile(after, group + "rdr rwan 192.0.2.1/32 port 86 -> 10.0.0.5 port 8085 tcp\n")
      _ = try lab.run(lab.router, [Shell.ipnatPath, "load", before])
      try lab.startTwoServers(outsideClients: ["192.0.2.3"])
      #expect(try lab.server(of: "192.0.2.2") + lab.server(of: "192.0.2.3") == ["10.0.0.5", "10.0.0.6"])
      _ = try lab.run(lab.router, [Shell.ipnatPath, "load", after])
      // Forgotten clients would take turns again: 192.0.2.3 first would get 10.0.0.5.
      #expect(try lab.server(of: "192.0.2.3") + lab.server(of: "192.0.2.2") == ["10.0.0.6", "10.0.0.5"])
    }
  }

  @Test func reflectionLetsInsideClientsUseTheExternalAddress() throws {
    try withLab { lab in
      var options = LoweringOptions()
      options.reflection = true
      try lab.load("rdr rwan 192.0.2.1/32 port 80 -> 10.0.0.5 port 8080 tcp\n", lowering: options)
      try lab.start(lab.inside, ["serve", "10.0.0.5:8080"])
      let answers = try lab.probe(lab.inside, ["tcp", "192.0.2.1", "80", "--bind", "10.0.0.2"]).compactMap(Answer.init)
      #expect(answers.map { "\($0.localAddress):\($0.localPort)" } == ["10.0.0.5:8080"])
      #expect(answers.map(\.peerAddress) == ["10.0.0.1"], "masqueraded, so replies return through the router")
    }
  }

  // MARK: - IPv6

  @Test func ipv6MapAndRdr() throws {
    try withLab { lab in
      try lab.load("""
        map rwan inet6 fd00:10::/64 -> 2001:db8:ff::1/128
        rdr rwan inet6 2001:db8:2::1/128 port 80 -> fd00:10::5 port 8080 tcp

        """)
      try lab.start(lab.outside, ["serve", "[2001:db8:2::2]:7000"])
      try lab.start(lab.inside, ["serve", "[fd00:10::5]:8080"])
      let outbound = try lab.probe(lab.inside, ["udp", "2001:db8:2::2", "7000", "--bind", "fd00:10::2"]).compactMap(Answer.init)
      #expect(outbound.map(\.peerAddress) == ["2001:db8:ff::1"])
      let inbound = try lab.probe(lab.outside, ["tcp", "2001:db8:2::1", "80"]).compactMap(Answer.init)
      #expect(inbound.map { "\($0.localAddress):\($0.localPort)" } == ["fd00:10::5:8080"])
    }
  }
}
