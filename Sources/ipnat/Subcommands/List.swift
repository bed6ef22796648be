// Only with the Kernel trait (the default): a build without it has no libnftnl or libmnl.
#if Kernel
import ArgumentParser
import IPNatKit
import IPNatNetlink

extension IPNatCommand {
  /// `ipnat list`: what is loaded, read back from the kernel.
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show the loaded rules, read back from the kernel, with their counters.",
      discussion: """
        Each line is one ipnat.conf rule in canonical form, with the packets and bytes its \
        translating rules counted and the file and line it was loaded from. NAT rules see the \
        first packet of each connection only, so their packets are connections translated, \
        like IPFilter's hits.
        """)

    @OptionGroup var tableOption: TableOption
    private var table: String { tableOption.table }

    @Flag(help: "Print only the rules, without counters.")
    var noCounters = false

    func run() throws {
      let rules = try Kernel.run { ruleset in try ruleset.rules(ofTable: table) }
      FileOutput.standardOutput.write(Self.render(IPNatRuleSummary.group(rules), counters: !noCounters))
    }

    static func render(_ summaries: [IPNatRuleSummary], counters: Bool) -> String {
      guard counters else { return summaries.map { ($0.text ?? "# a rule ipnat did not write") + "\n" }.joined() }
      let packetWidth = max(7, summaries.map { String($0.packets).count }.max() ?? 0)
      let byteWidth = max(5, summaries.map { String($0.bytes).count }.max() ?? 0)
      var text = pad("PACKETS", packetWidth) + "  " + pad("BYTES", byteWidth) + "  RULE\n"
      for summary in summaries {
        text += pad(String(summary.packets), packetWidth) + "  " + pad(String(summary.bytes), byteWidth) + "  "
        text += (summary.text ?? "(a rule ipnat did not write)") + (summary.place.map { "  # \($0)" } ?? "") + "\n"
      }
      return text
    }

    private static func pad(_ text: String, _ width: Int) -> String {
      String(repeating: " ", count: max(0, width - text.count)) + text
    }
  }

  /// `ipnat diff FILE`: what loading FILE would add and remove.
  struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show what loading a file would add to, remove from and change in the loaded rules.",
      discussion: """
        Rules are compared by their canonical form, so moving a rule to another line is no \
        change. '-' marks a loaded rule the file does not have, '+' a rule of the file that \
        is not loaded, '~' a rule in both whose nftables form differs (for instance after a \
        different --interface-map). Nothing is changed in the kernel.
        """)

    @OptionGroup var input: InputOptions
    @OptionGroup var lowering: LoweringFlags

    func run() throws {
      let frontend = Frontend(input: input)
      let file = try frontend.readInput()
      let compiled = try Kernel.linearize(try frontend.lower(file, with: lowering))
      let loaded = try Kernel.run { ruleset in try ruleset.rules(ofTable: lowering.table) }
      let difference = IPNatRuleSummary.difference(loaded: loaded, compiled: compiled.expectedRules)
      var text = ""
      for rule in difference.removed { text += "- \(rule)\n" }
      for rule in difference.changed { text += "~ \(rule)\n" }
      for rule in difference.added { text += "+ \(rule)\n" }
      if difference.isEmpty { text = "no changes: the loaded rules are those of \(file.name)\n" }
      FileOutput.standardOutput.write(text)
    }
  }
}
#endif
