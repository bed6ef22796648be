import Glibc
import IPNatDiagnostics
@testable import IPNatKit
import IPNatLowering
import IPNatSyntax
import Testing

/// The compiler lowers each rule as soon as it is parsed (`Parser.parse(_:options:handingRulesTo:)`):
/// what the parser hands on must be what it would have kept, and a file with an error must
/// still compile to nothing but the parser's diagnostics.
@Suite struct RuleStreamTests {
  static let file = SourceFile(name: "stream.conf", text: """
    inside = "10.0.0.0/24";
    map eth0 $inside -> 203.0.113.1/32
    rdr eth0 192.0.2.1/32 port 80 -> 10.0.0.5 port 8080 tcp; map eth1 10.1.0.0/16 -> 0/32
    rdr eth0 192.0.2.1/32 port 99999 -> 10.0.0.5 tcp
    bimap eth0 10.0.0.7/32 -> 203.0.113.7/32

    """)

  @Test func theRulesHandedOnAreTheRulesKept() {
    let options = ParseOptions(hostResolver: testHosts)
    let kept = Parser.parse(Self.file, options: options)
    var handed: [Rule] = []
    let streamed = Parser.parse(Self.file, options: options) { handed.append($0) }
    #expect(handed == kept.config.rules)
    #expect(handed.count == 4)
    #expect(streamed.config.rules.isEmpty)
    #expect(streamed.config.statements.count == kept.config.statements.count - 4)
    #expect(streamed.diagnostics == kept.diagnostics)
  }

  /// Line 4's port is out of range: the file compiles to no table, and to the parser's
  /// diagnostics only, though the rules before it were already lowered.
  @Test func aFileWithAnErrorLowersToNothing() {
    let (table, diagnostics) = IPNat.lower(Self.file, options: FrontendOptions(resolveHostNames: false))
    #expect(table == nil)
    #expect(diagnostics == IPNat.parse(Self.file, options: FrontendOptions(resolveHostNames: false)).diagnostics)
    #expect(diagnostics.hasErrors)
  }

  /// The compiler parses on a second thread and hands rules over in batches (`RuleHandoff`).
  /// A file of many batches, more than the queue holds, with round-robin partners far apart,
  /// must lower to exactly the table that lowering the parsed file on one thread gives.
  @Test func theParsingThreadHandsOverEveryRuleInOrder() {
    var text = "rdr eth0 198.51.100.1/32 port 80 -> 10.9.0.1 port 80 tcp round-robin\n"
    for index in 0..<6_000 {
      let (high, low) = (index / 250, index % 250)
      text += index % 3 == 0
        ? "map eth0 10.64.\(high).\(low)/32 -> 203.0.\(high).\(low)/32\n"
        : "rdr eth0 198.18.\(high).\(low)/32 port \(1000 + index % 2) -> 10.1.\(high).\(low) port 8080 tcp\n"
    }
    text += "rdr eth0 198.51.100.1/32 port 80 -> 10.9.0.2 port 80 tcp round-robin\n"
    let file = SourceFile(name: "many.conf", text: text)
    let (table, diagnostics) = IPNat.lower(file, options: FrontendOptions(resolveHostNames: false))
    let parsed = IPNat.parse(file, options: FrontendOptions(resolveHostNames: false))
    let oneThread = Lowering.lower(parsed.config, in: file)
    #expect(table != nil)
    #expect(table == oneThread.table)
    #expect(diagnostics == parsed.diagnostics + oneThread.diagnostics)

    // An error in the last rule, after every batch has gone: still no table.
    let broken = SourceFile(name: "broken.conf", text: text + "map eth0 10.0.0.0/8 -> 0/32 portmap tcp 1:99999\n")
    #expect(IPNat.lower(broken, options: FrontendOptions(resolveHostNames: false)).table == nil)
  }

  /// While the lowering has a batch waiting, the parser prints the canonical forms of the
  /// rules it hands over, to share the work (`RuleHandoff`). Here the lowering is slow at first,
  /// so the parser gets ahead: later batches must come printed, each form the printer's own,
  /// and every rule in order.
  @Test func aParserThatIsAheadPrintsTheCanonicalFormsItHandsOver() {
    let text = (0..<3_000).map { "map eth0 10.64.\($0 / 250).\($0 % 250)/32 -> 203.0.113.1/32\n" }.joined()
    let file = SourceFile(name: "ahead.conf", text: text)
    let options = FrontendOptions(resolveHostNames: false)
    let handoff = RuleHandoff { takeRule in IPNat.parse(file, options: options, handingRulesTo: takeRule) }
    var received: [(rule: Rule, canonicalForm: String?)] = []
    let result = handoff.receive { rule, canonicalForm in
      if received.isEmpty { usleep(200_000) }
      received.append((rule, canonicalForm))
    }
    #expect(!result.diagnostics.hasErrors)
    #expect(received.map(\.rule) == IPNat.parse(file, options: options).config.rules)
    let printed = received.filter { $0.canonicalForm != nil }
    #expect(printed.count >= 256)
    #expect(printed.allSatisfy { $0.canonicalForm == CanonicalPrinter.print($0.rule) })
  }
}
