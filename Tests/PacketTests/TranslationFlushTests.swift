import Foundation
import IPNatKit
import TestSupport
import Testing

/// `ipnat -F` deletes the conntrack entries of the connections ipnat's rules translated, and
/// no others: a flow that keeps going is then translated afresh by the rules loaded now.
let conntrackPath = "/usr/sbin/conntrack"

/// CI (IPNAT_REQUIRE_NFT=1) installs conntrack-tools: there a missing one fails the run.
let canListConntrack: Bool = {
  let usable = Lab.isAvailable && FileManager.default.isExecutableFile(atPath: conntrackPath)
  if !usable, ProcessInfo.processInfo.environment["IPNAT_REQUIRE_NFT"] != nil {
    fatalError("IPNAT_REQUIRE_NFT is set but the translation-flush tests cannot run (need conntrack-tools)")
  }
  return usable
}()

@Suite(.serialized, .enabled(if: canListConntrack, "needs root, ip, nft, python3 and conntrack"))
struct TranslationFlushTests {
  /// Another tool's NAT in the same router, for a second inside host: not ipnat's to flush.
  static let foreignTable = """
    table ip foreign {
      chain postrouting {
        type nat hook postrouting priority srcnat + 5; policy accept;
        ip saddr 10.0.0.3 snat to 198.51.100.9
      }
    }
    """

  @Test func flushesOnlyIpnatsTranslationsAndLetsNewRulesTakeOver() throws {
    try withLab { lab in
      try lab.load("map rwan 10.0.0.2/32 -> 203.0.113.7/32\n")
      _ = try lab.run(lab.router, ["nft", "-f", "-"], input: Self.foreignTable)
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000"])
      func peer(from source: String) throws -> String? {
        try lab.probe(lab.inside, ["udp", "192.0.2.2", "7000", "--bind", source, "--sport", "40000"]).compactMap(Answer.init)
          .first?.peerAddress
      }
      #expect(try peer(from: "10.0.0.2") == "203.0.113.7")
      #expect(try peer(from: "10.0.0.3") == "198.51.100.9")

      // New rules do not touch the flow while its conntrack entry lives.
      try lab.load("map rwan 10.0.0.2/32 -> 203.0.113.8/32\n")
      #expect(try peer(from: "10.0.0.2") == "203.0.113.7")
      #expect(try entries(in: lab, from: "10.0.0.2") == 1 && entries(in: lab, from: "10.0.0.3") == 1)

      let output = try lab.run(lab.router, [Shell.ipnatPath, "-F"])
      #expect(output == "1 entries flushed from NAT table\n")
      #expect(try entries(in: lab, from: "10.0.0.2") == 0)
      #expect(try entries(in: lab, from: "10.0.0.3") == 1, "another tool's translation stays")
      #expect(try peer(from: "10.0.0.2") == "203.0.113.8", "the same flow, translated by the rules loaded now")
      #expect(try lab.run(lab.router, [Shell.ipnatPath, "-F"]) == "1 entries flushed from NAT table\n")
    }
  }

  /// IPFilter's hostmap entries go with the sessions that use them: after `-F`, a client that a
  /// sticky round-robin target remembered takes a turn again.
  @Test func flushingForgetsStickyClients() throws {
    try withLab { lab in
      try lab.load("""
        rdr rwan 192.0.2.1/32 port 85 -> 10.0.0.5 port 8085 tcp round-robin sticky
        rdr rwan 192.0.2.1/32 port 85 -> 10.0.0.6 port 8085 tcp round-robin sticky

        """)
      try lab.startTwoServers(outsideClients: ["192.0.2.3"])
      #expect(try lab.server(of: "192.0.2.2") + lab.server(of: "192.0.2.3") + lab.server(of: "192.0.2.3")
                == ["10.0.0.5", "10.0.0.6", "10.0.0.6"])
      _ = try lab.run(lab.router, [Shell.ipnatPath, "-F"])
      #expect(try lab.run(lab.router, ["nft", "list", "set", "inet", "ipnat", "rr_1_1_clients"]).contains("elements") == false)
      // Remembered, 192.0.2.3 would go back to 10.0.0.6; forgotten, it takes the next turn.
      #expect(try lab.server(of: "192.0.2.3") == ["10.0.0.5"])
    }
  }

  /// A folded rule's map decides whether it translates; a connection it has no element for
  /// passes it unlabelled and uncounted, and `-F` leaves it alone.
  @Test func aFoldedRuleLabelsOnlyWhatItTranslates() throws {
    try withLab { lab in
      var options = LoweringOptions()
      options.foldThreshold = 2
      let script = try lab.load("""
        map rwan 10.0.0.2/32 -> 203.0.113.7/32
        map rwan 10.0.9.1/32 -> 203.0.113.8/32
        map rwan 10.0.9.2/32 -> 203.0.113.9/32

        """, lowering: options)
      #expect(script.contains("map @fold_"))
      _ = try lab.run(lab.router, ["nft", "-f", "-"], input: Self.foreignTable)
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000"])
      for source in ["10.0.0.2", "10.0.0.3"] {
        _ = try lab.probe(lab.inside, ["udp", "192.0.2.2", "7000", "--bind", source, "--sport", "40000"])
      }
      #expect(try entries(in: lab, from: "10.0.0.2") == 1 && entries(in: lab, from: "10.0.0.3") == 1)
      let listing = try lab.run(lab.router, ["nft", "list", "chain", "inet", "ipnat", "srcnat"])
      #expect(listing.contains("counter packets 1 "), "the folded rule counts the connection it translated:\n\(listing)")
      #expect(try lab.run(lab.router, [Shell.ipnatPath, "-F"]) == "1 entries flushed from NAT table\n")
      #expect(try entries(in: lab, from: "10.0.0.3") == 1, "another tool's translation stays")
    }
  }

  @Test func dryRunFlushesNothing() throws {
    try withLab { lab in
      try lab.load("map rwan 10.0.0.2/32 -> 203.0.113.7/32\n")
      try lab.start(lab.outside, ["serve", "192.0.2.2:7000"])
      _ = try lab.probe(lab.inside, ["udp", "192.0.2.2", "7000", "--bind", "10.0.0.2"])
      #expect(try lab.run(lab.router, [Shell.ipnatPath, "-n", "-F"]).isEmpty)
      #expect(try entries(in: lab, from: "10.0.0.2") == 1)
    }
  }

  /// Conntrack entries of UDP flows from `source`, as conntrack-tools lists them.
  private func entries(in lab: Lab, from source: String) throws -> Int {
    let listing = try lab.run(lab.router, [conntrackPath, "-L", "-p", "udp", "--orig-src", source])
    return listing.split(separator: "\n").count { $0.contains("src=\(source) ") }
  }
}
