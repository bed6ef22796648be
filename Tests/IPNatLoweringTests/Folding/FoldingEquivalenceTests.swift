import IPAddressing
import IPNatDiagnostics
import IPNatKit
import NFTModel
import TestSupport
import Testing

/// Folded and unfolded tables must translate every packet alike. Random rule files over a
/// small universe of interfaces, addresses, protocols and ports, where rules collide often,
/// are compiled both ways, and every packet of the universe is run through both NAT chains
/// (`ChainEvaluator`). The packet tests check the same with real traffic on fewer cases.
@Suite struct FoldingEquivalenceTests {
  static let interfaces = ["eth0", "ppp0"]
  static let ports: [UInt64] = [80, 81, 82, 1000]

  /// One random rule of the shapes that fold and of those that stand in their way.
  static func randomRule(_ random: inout SplitMix64) -> String {
    let interface = interfaces[random.next(below: 2)]
    let inside = "10.0.0.\(random.next(below: 8))"
    let outside = "192.0.2.\(random.next(below: 8))"
    let port = ports[random.next(below: 3)]
    let transport = ["tcp", "udp", "tcp/udp"][random.next(below: 3)]
    switch random.next(below: 10) {
    case 0, 1: return "rdr \(interface) \(outside)/32 port \(port) -> \(inside) port \(8000 + port) \(transport)"
    case 2: return "rdr \(interface) \(outside)/32 -> \(inside)"
    case 3: return "rdr \(interface) \(outside)/32 port 80-82 -> \(inside) port 8080 \(transport)"
    case 4: return "rdr \(interface) 192.0.2.0/30 port \(port) -> \(inside) port 9000 tcp"
    case 5, 6: return "map \(interface) \(inside)/32 -> 203.0.113.\(random.next(below: 250))/32"
    case 7: return "map \(interface) 10.0.0.\(4 * random.next(below: 2))/30 -> 203.0.113.\(random.next(below: 250))/32"
    case 8: return "map \(interface) \(inside)/32 -> 203.0.113.9/32 portmap \(transport) \(10000 + 100 * port):\(10099 + 100 * port)"
    default: return "map \(interface) from \(inside)/32 to \(outside)/31 -> 203.0.113.200/32"
    }
  }

  static var packets: [TestPacket] {
    var packets: [TestPacket] = []
    for interface in interfaces {
      for (source, destination) in (0..<8).flatMap({ source in (0..<8).map { (UInt32(source), UInt32($0)) } }) {
        for transport: UInt8 in [6, 17] {
          for port in ports {
            packets.append(TestPacket(inputInterface: interface, outputInterface: interface,
                                      source: .ipv4(0x0a00_0000 + source), destination: .ipv4(0xc000_0200 + destination),
                                      transport: transport, destinationPort: port))
          }
        }
      }
    }
    return packets
  }

  static func table(_ text: String, foldThreshold: Int?) throws -> Table {
    let file = SourceFile(name: "random.conf", text: text)
    var lowering = LoweringOptions()
    lowering.foldThreshold = foldThreshold
    let (table, diagnostics) = IPNat.lower(file, options: FrontendOptions(resolveHostNames: false), lowering: lowering)
    return try #require(table, "\(DiagnosticRenderer().render(diagnostics, in: file))")
  }

  @Test func randomFilesTranslateEveryPacketAlike() throws {
    var random = SplitMix64(seed: 0x1f01d)
    var foldedMaps = 0
    for _ in 0..<150 {
      // IPFilter refuses a duplicate rule (ipnat leaves it out): each rule of a file is new.
      var rules: [String] = []
      var canonical: Set<String> = []
      while rules.count < 24 {
        let rule = Self.randomRule(&random)
        let form = IPNat.printCanonical(SourceFile(name: "rule", text: rule), options: FrontendOptions(resolveHostNames: false))
        if canonical.insert(form.output ?? rule).inserted { rules.append(rule) }
      }
      let text = rules.joined(separator: "\n") + "\n"
      let folded = ChainEvaluator(table: try Self.table(text, foldThreshold: 2))
      let plain = ChainEvaluator(table: try Self.table(text, foldThreshold: nil))
      foldedMaps += folded.table.maps.count { $0.name.hasPrefix("fold_") }
      for packet in Self.packets {
        for chain in ["dstnat", "srcnat"] {
          let expected = try plain.translate(packet, in: chain)
          let actual = try folded.translate(packet, in: chain)
          guard actual == expected else {
            Issue.record("\(chain) \(packet): folded \(actual ?? "none"), unfolded \(expected ?? "none")\n\(text)")
            return
          }
        }
      }
    }
    // The comparison means something only if folding happened, often.
    #expect(foldedMaps > 300, "only \(foldedMaps) maps were folded")
  }

  @Test func evaluatorSeesTheTranslationsItIsShown() throws {
    let evaluator = ChainEvaluator(table: try Self.table("""
      rdr ppp0 192.0.2.1/32 port 80 -> 10.0.0.5 port 8080 tcp
      rdr ppp0 192.0.2.2/32 port 80 -> 10.0.0.6 port 8080 tcp
      map ppp0 10.0.0.1/32 -> 203.0.113.1/32

      """, foldThreshold: 2))
    let packet = TestPacket(inputInterface: "ppp0", outputInterface: "ppp0", source: .ipv4(0x0a00_0001),
                            destination: .ipv4(0xc000_0202), transport: 6, destinationPort: 80)
    #expect(try evaluator.translate(packet, in: "dstnat") == "dnat 10.0.0.6:8080")
    #expect(try evaluator.translate(packet, in: "srcnat") == "snat 203.0.113.1")
    var udp = packet
    udp.transport = 17
    #expect(try evaluator.translate(udp, in: "dstnat") == nil)
  }
}
