import IPNatDiagnostics
import IPNatKit
@testable import IPNatLowering
import NFTModel
import TestSupport
import Testing

/// A large table's two NAT chains are folded at once, on two threads (`TableBuilder.fold`).
/// The table must be the one a single thread makes, map names and rule order included.
@Suite struct TwoThreadFoldingTests {
  /// Port forwards and 1:1 maps on two interfaces, with rules between them that no map can
  /// hold and that the next rule may not move ahead of: groups open, close and stay small.
  static func gateway(rules count: Int, seed: UInt64) -> String {
    var random = SplitMix64(seed: seed)
    var lines: [String] = []
    for index in 0..<count {
      // Each rule's addresses come from its index: no two rules are the same.
      let (high, low) = (index / 250, index % 250 + 1)
      let rule =
        switch random.next(below: 12) {
        case 0...3: "rdr eth0 198.18.\(high).\(low)/32 port 80 -> 10.1.\(high).\(low) port 8080 tcp"
        case 4...7: "map eth0 10.64.\(high).\(low)/32 -> 203.0.\(high).\(low)/32"
        case 8: "rdr ppp0 198.19.\(high).\(low)/32 -> 10.2.\(high).\(low)"
        case 9: "map ppp0 10.65.\(high).\(low)/32 -> 203.1.\(high).\(low)/32 portmap tcp/udp 1024:65535"
        // Rules no map holds, matching what the next rule may: that one cannot move ahead.
        case 10: "map eth0 from 10.64.\(high).\(low + 1)/32 to 192.0.2.0/24 -> 203.2.\(high).\(low)/32"
        default: "rdr eth0 from 10.0.0.0/8 to 198.18.\(high).\(low + 1)/32 port = 80 -> 10.3.\(high).\(low) port 22 tcp"
        }
      lines.append(rule)
    }
    return lines.joined(separator: "\n") + "\n"
  }

  static func table(_ text: String, foldsOnTwoThreadsFrom minimum: Int) throws -> Table {
    let file = SourceFile(name: "gateway.conf", text: text)
    var lowering = LoweringOptions()
    lowering.foldsOnTwoThreadsFrom = minimum
    let (table, diagnostics) = IPNat.lower(file, options: FrontendOptions(resolveHostNames: false), lowering: lowering)
    return try #require(table, "\(DiagnosticRenderer().render(diagnostics, in: file))")
  }

  /// Where two tables first differ: a failure that prints both whole would be unreadable.
  static func firstDifference(_ table: Table, _ other: Table) -> String? {
    guard table != other else { return nil }
    for (map, otherMap) in zip(table.maps, other.maps) where map != otherMap {
      return "map \(map.name) (\(map.elements.count) elements) against \(otherMap.name) (\(otherMap.elements.count))"
    }
    for (chain, otherChain) in zip(table.chains, other.chains) {
      for (index, (rule, otherRule)) in zip(chain.rules, otherChain.rules).enumerated() where rule != otherRule {
        return "\(chain.name) rule \(index): \(rule.origin?.text ?? "?") against \(otherRule.origin?.text ?? "?")"
      }
    }
    return "\(table.maps.count) maps and chains of \(table.chains.map(\.rules.count)) rules against "
      + "\(other.maps.count) and \(other.chains.map(\.rules.count))"
  }

  @Test func aLargeFileFoldsOnTwoThreadsAsOnOne() throws {
    let text = Self.gateway(rules: 6000, seed: 0x2f01d)
    let byDefault = try Self.table(text, foldsOnTwoThreadsFrom: LoweringOptions().foldsOnTwoThreadsFrom)
    let onOneThread = try Self.table(text, foldsOnTwoThreadsFrom: .max)
    // The comparison means something only if both chains folded, into several maps each.
    #expect(byDefault.maps.count > 20)
    #expect(Self.firstDifference(byDefault, onOneThread) == nil)
  }

  @Test func smallFilesFoldOnTwoThreadsAsOnOne() throws {
    for seed in 0..<40 {
      let text = Self.gateway(rules: 10 * (seed + 1), seed: UInt64(seed))
      let onTwoThreads = try Self.table(text, foldsOnTwoThreadsFrom: 0)
      let onOneThread = try Self.table(text, foldsOnTwoThreadsFrom: .max)
      #expect(Self.firstDifference(onTwoThreads, onOneThread) == nil, "seed \(seed)")
    }
  }
}
