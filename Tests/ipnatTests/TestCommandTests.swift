import Foundation
import TestSupport
import Testing

/// `ipnat test` as CI runs it: the Sample suite passes, a wrong expectation fails at its line
/// in every format, and JSON gives each packet's rule and endpoints.
@Suite struct TestCommandTests {
  static let arguments = ["test", "--no-resolve", "--color", "never", "--address", "ppp0=203.0.113.5",
                          "\(samples)/home-gateway.conf"]

  @Test func theSampleSuitePasses() throws {
    let run = try ipnat(Self.arguments + ["\(samples)/ci/home-gateway.packets"])
    #expect(run.status == 0, "\(run.standardError)")
    #expect(run.standardOutput.contains("translated by \(samples)/home-gateway.conf:25: rdr ppp0 0/0 port 443"))
  }

  @Test func aWrongExpectationFailsAtItsLine() throws {
    let packets = "in on ppp0 tcp 198.51.100.7,40000 203.0.113.5,443 => 198.51.100.7,40000 192.168.1.11,443\n"
    let text = try ipnat(Self.arguments + ["-"], input: packets)
    #expect(text.status == 1)
    #expect(text.standardError.hasPrefix("<stdin>:1:51: error: expected 198.51.100.7,40000 192.168.1.11,443, but Linux makes it 198.51.100.7,40000 192.168.1.10,443 [test.unmet-expectation]\n"))
    let github = try ipnat(Self.arguments + ["--format", "github", "-"], input: packets)
    #expect(github.status == 1 && github.standardOutput.hasPrefix("::error file=<stdin>,line=1,col=51"), "\(github.standardOutput)")
    let sarif = try ipnat(Self.arguments + ["--format", "sarif", "-"], input: packets)
    #expect(sarif.status == 1 && sarif.standardOutput.contains("\"ruleId\": \"test.unmet-expectation\""))
  }

  /// A redirected packet that a map on the inside interface translates too (a hairpin): with
  /// the other interface named, both rules answer; without, the map is a note.
  @Test func theOtherInterfaceCanBeNamed() throws {
    let conf = NSTemporaryDirectory() + "ipnat-test-other-interface.conf"
    writeFile(conf, "rdr wan 203.0.113.1/32 port 80 -> 10.0.0.5 port 80 tcp\nmap lan 0/0 -> 10.0.0.1/32\n")
    defer { try? FileManager.default.removeItem(atPath: conf) }
    let packet = "in on wan tcp 198.51.100.7,4000 203.0.113.1,80\n"
    let named = try ipnat(["test", "--no-resolve", "--other-interface", "lan", conf, "-"], input: packet)
    #expect(named.status == 0 && named.standardOutput.contains("  and by \(conf):2: map lan 0/0 -> 10.0.0.1/32\n"))
    #expect(named.standardOutput.contains("-> 10.0.0.1,4000 10.0.0.5,80\n") && !named.standardOutput.contains("note:"))
    let unnamed = try ipnat(["test", "--no-resolve", conf, "-"], input: packet)
    #expect(unnamed.status == 0 && unnamed.standardOutput.contains("-> 198.51.100.7,4000 10.0.0.5,80\n"))
    #expect(unnamed.standardOutput.contains("note: \(conf):2 needs oifname (the name of the router's other interface)"))
  }

  @Test func jsonGivesEachPacketItsRuleAndEndpoints() throws {
    let run = try ipnat(Self.arguments + ["--format", "json", "-"], input: "out on ppp0 udp 192.168.1.33,5353 192.0.2.53,53\n")
    #expect(run.status == 0)
    let packets = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [[String: Any]])
    let outcome = try #require((packets.first?["outcomes"] as? [[String: Any]])?.first)
    #expect((outcome["rule"] as? [String: Any])?["line"] as? Int == 18)
    #expect((outcome["source"] as? [String: Any])?["address"] as? String == "203.0.113.5")
    #expect((outcome["source"] as? [String: Any])?["port"] as? String == "1024-65535")
    #expect((outcome["destination"] as? [String: Any])?["port"] as? Int == 53)
  }

  @Test func malformedPacketLinesAreErrorsAtTheirPlace() throws {
    let run = try ipnat(Self.arguments + ["-"], input: "in on ppp0 tcp 1.2.3.4 5.6.7.8,2\n")
    #expect(run.status == 1 && run.standardError.hasPrefix("<stdin>:1:16: error: expected ADDRESS,PORT"))
  }
}

extension TestCommandTests {
  /// README's `ipnat test` example is what the command prints.
  @Test func readmeExampleIsRealOutput() throws {
    let readme = try #require(readFile("\(samples)/../README.md"))
    let section = try #require(readme.components(separatedBy: "## Testing packets").dropFirst().first)
    let block = try #require(section.components(separatedBy: "```").dropFirst().first)
    let lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let command = try #require(lines.firstIndex { $0.contains("ipnat test Samples/home-gateway.conf") })
    // The quoted packet lines of the printf before the command.
    let packets = lines[...command].flatMap { line in
      line.split(separator: "'", omittingEmptySubsequences: false).enumerated()
        .filter { $0.offset % 2 == 1 && ($0.element.hasPrefix("in ") || $0.element.hasPrefix("out ")) }.map { String($0.element) }
    }
    let shown = lines[(command + 1)...].joined(separator: "\n")
    let run = try ipnat(["test", "--no-resolve", "\(samples)/home-gateway.conf", "--address", "ppp0=203.0.113.5", "-"],
                        input: packets.joined(separator: "\n") + "\n")
    #expect(run.status == 0 && packets.count == 2)
    #expect(run.standardOutput.replacingOccurrences(of: "\(samples)/", with: "Samples/") == shown)
  }
}
