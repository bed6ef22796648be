import Foundation
import TestSupport
import Testing

/// UPnP IGD (`upnp on`) against the real client, miniupnpc's `upnpc`, on the lab's inside host:
/// discovery, the external address, mappings carrying traffic, listing, deletion, leases, and
/// silence toward the external side.
@Suite(.serialized, .enabled(if: UPnPClient.isAvailable, "needs root, ip, nft, python3, natpmpc and upnpc"))
struct UPnPDaemonTests {
  static let upnpcPath = UPnPClient.path

  /// UPnP clients ask for fixed ports: the lab opens 1024-65535 to the inside network.
  static let settings = "upnp on\nallow 1024-65535 10.0.0.0/24 1024-65535\n"

  /// `upnpc ARGUMENTS` on the inside host, discovering the gateway by SSDP on eth0; its output,
  /// errors included (it exits non-zero when the gateway refuses, which tests look for).
  /// `-i`: miniupnpc takes a gateway whose external address is in a reserved range (the lab's
  /// 192.0.2.1 is TEST-NET-1) for "not connected", and goes on only when told to.
  static func upnpc(_ daemon: DaemonLab, _ arguments: [String]) throws -> String {
    try daemon.lab.run(daemon.lab.inside, ["/bin/sh", "-c", "\"$0\" -i -m eth0 \"$@\" 2>&1; true", upnpcPath] + arguments)
  }

  @Test func discoversTheGatewayAndMapsPortsThatCarryTraffic() throws {
    try DaemonLab.with(settings: Self.settings) { daemon in
      let lab = daemon.lab
      try lab.start(lab.inside, ["serve", "10.0.0.2:5000"])
      let status = try Self.upnpc(daemon, ["-s"])
      #expect(status.contains("ExternalIPAddress = 192.0.2.1"), "\(status)")
      #expect(status.contains("desc: http://10.0.0.1:5000/igd") && status.contains("Status : Connected"), "\(status)")

      let udp = try Self.upnpc(daemon, ["-a", "10.0.0.2", "5000", "40000", "UDP", "600"])
      #expect(udp.contains("external 192.0.2.1:40000 UDP is redirected to internal 10.0.0.2:5000"), "\(udp)")
      #expect(try LiveTrafficTests.peer(lab, port: 40000) == "10.0.0.2 5000")
      _ = try Self.upnpc(daemon, ["-a", "10.0.0.2", "5000", "40001", "TCP", "600"])
      let connection = try lab.probe(lab.outside, ["tcp", "192.0.2.1", "40001"]).compactMap(Answer.init).first
      #expect(connection?.localAddress == "10.0.0.2" && connection?.localPort == 5000)

      let listing = try Self.upnpc(daemon, ["-l"])
      #expect(listing.contains("UDP 40000->10.0.0.2:5000  'libminiupnpc'"), "\(listing)")
      #expect(listing.contains("TCP 40001->10.0.0.2:5000"), "\(listing)")

      // ipnat natpmpd -l reads the same from the kernel, with who asked and what for.
      let table = try lab.run(lab.router, [Shell.ipnatPath, "natpmpd", "-l"])
      let row = try #require(table.split(separator: "\n").first { $0.hasPrefix("UDP") && $0.contains("40000") }, "\(table)")
      #expect(row.contains("10.0.0.2:5000") && row.contains("UPnP") && row.contains("libminiupnpc"), "\(row)")
      let json = try lab.run(lab.router, [Shell.ipnatPath, "natpmpd", "-l", "--format", "json"])
      let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
      #expect(entries.count == 2 && entries.allSatisfy { $0["by"] as? String == "UPnP" && $0["client"] as? String == "10.0.0.2" })

      let deleted = try Self.upnpc(daemon, ["-d", "40000", "UDP"])
      #expect(!deleted.contains("failed"), "\(deleted)")
      LiveTrafficTests.settle()
      #expect(try LiveTrafficTests.peer(lab, port: 40000) == nil, "traffic stops with the mapping")
      #expect(daemon.log.contains { $0.contains("UPnP AddPortMapping from 10.0.0.2") }, "mappings are logged")
    }
  }

  /// A client maps its own address only; the lease it asks for is the kernel's timeout; a port
  /// another client holds is a conflict (718).
  @Test func refusesOtherHostsAndHonoursLeases() throws {
    try DaemonLab.with(settings: Self.settings) { daemon in
      let other = try Self.upnpc(daemon, ["-a", "10.0.0.3", "5000", "40002", "UDP", "600"])
      #expect(other.contains("606"), "\(other)")
      _ = try Self.upnpc(daemon, ["-a", "10.0.0.2", "5000", "40003", "UDP", "120"])
      let element = try #require(daemon.elements.first { $0.hasPrefix("udp . 40003") })
      #expect(element.contains("timeout 2m"), "\(element)")
      let conflict = try Self.upnpc(daemon, ["-a", "10.0.0.2", "5001", "40003", "UDP", "600"])
      #expect(conflict.contains("718"), "\(conflict)")
    }
  }

  /// Hostile requests from the inside get an error answer, and the daemon goes on serving.
  @Test func answersHostileRequestsWithErrors() throws {
    try DaemonLab.with(settings: Self.settings) { daemon in
      let lab = daemon.lab
      let tooLarge = try Self.post(lab, String(repeating: "x", count: 20_000))
      #expect(tooLarge?.hasPrefix("HTTP/1.1 413") == true, "a body too large: \(tooLarge ?? "")")
      let longHeader = try Self.post(lab, "", headers: ["X-Long: " + String(repeating: "y", count: 90_000)])
      #expect(longHeader?.hasPrefix("HTTP/1.1 4") == true, "a header too large: \(longHeader ?? "")")
      let laughs = "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><l>&b;</l>"
      let expansion = try Self.post(lab, laughs)
      #expect(expansion == "HTTP/1.1 500 Internal Server Error", "entity expansion: a SOAP fault")
      let malformed = try Self.post(lab, "<s:Envelope")
      #expect(malformed == "HTTP/1.1 500 Internal Server Error", "a malformed envelope: a SOAP fault")
      #expect(try lab.probe(lab.inside, ["http", "10.0.0.1", "5000", "GET", "/igd2.xml"]).first == "HTTP/1.1 200 OK")
      #expect(daemon.process.isRunning)
    }
  }

  /// NOTIFY ssdp:alive for every target when the daemon starts, ssdp:byebye when it stops, on
  /// the inside network's multicast group.
  @Test func announcesItselfAndSaysGoodbye() throws {
    try withLab { lab in
      try lab.start(lab.inside, ["listen-multicast", "239.255.255.250", "1900", lab.logPath("ssdp"),
                                 "--interface-address", "10.0.0.2", "--seconds", "8"])
      lab.waitForLog("ssdp")
      let daemon = try DaemonLab(lab: lab, settings: Self.settings)
      func notices(_ kind: String) -> [String] {
        lab.log("ssdp").compactMap { line in
          line.split(separator: " ").last.flatMap { hex in
            let bytes = stride(from: 0, to: hex.count - 1, by: 2).compactMap {
              UInt8(hex.dropFirst($0).prefix(2), radix: 16)
            }
            let text = String(decoding: bytes, as: UTF8.self)
            return text.hasPrefix("NOTIFY * HTTP/1.1") && text.contains("NTS: \(kind)") ? text : nil
          }
        }
      }
      try waitUntil("the alive notices") { notices("ssdp:alive").count >= 11 }
      #expect(notices("ssdp:alive").allSatisfy { $0.contains("LOCATION: http://10.0.0.1:5000/igd") })
      try daemon.stop()
      try waitUntil("the byebye notices") { notices("ssdp:byebye").count >= 11 }
    }
  }

  /// A POST of `body` to the connection's control URL from the inside host; the status line.
  static func post(_ lab: Lab, _ body: String, headers: [String] = []) throws -> String? {
    let action = "SOAPAction: \"urn:schemas-upnp-org:service:WANIPConnection:1#GetStatusInfo\""
    return try lab.probe(lab.inside, ["http", "10.0.0.1", "5000", "POST", "/ctl/IPConn", "--body", body, "--header", action]
                           + headers.flatMap { ["--header", $0] }).first
  }

  /// From the external side the gateway says nothing: no SSDP answer, no HTTP answer, even to
  /// a peer that routes to the internal address.
  @Test func isSilentTowardTheExternalSide() throws {
    try DaemonLab.with(settings: Self.settings) { daemon in
      let lab = daemon.lab
      #expect(try lab.probe(lab.inside, ["ssdp", "239.255.255.250", "--target", "upnp:rootdevice"]).first?
        .hasPrefix("HTTP/1.1 200 OK") == true, "the inside is answered")
      _ = try lab.run(lab.outside, ["ip", "route", "add", "10.0.0.0/24", "via", "192.0.2.1"])
      #expect(try lab.probe(lab.outside, ["ssdp", "192.0.2.1", "--target", "upnp:rootdevice"]) == ["timeout"])
      #expect(try lab.probe(lab.outside, ["ssdp", "10.0.0.1", "--target", "upnp:rootdevice"]) == ["timeout"])
      for host in ["192.0.2.1", "10.0.0.1"] {
        let answer = try lab.probe(lab.outside, ["http", host, "5000", "GET", "/igd2.xml"]).first
        #expect(answer == "closed" || answer == "refused", "\(host): \(answer ?? "")")
      }
      #expect(try lab.probe(lab.inside, ["http", "10.0.0.1", "5000", "GET", "/igd2.xml"]).first == "HTTP/1.1 200 OK")
    }
  }
}

/// miniupnpc's `upnpc`, which CI installs.
enum UPnPClient {
  static let path = "/usr/bin/upnpc"
  static var isAvailable: Bool {
    DaemonLab.required(DaemonLab.isAvailable && FileManager.default.isExecutableFile(atPath: path),
                       "the UPnP tests cannot run (need upnpc, from Debian's miniupnpc)")
  }
}
