// Only with the Kernel trait (the default): a build without it has no libnftnl or libmnl.
#if Kernel
import ArgumentParser
import IPNatKit
import IPNatLoader
import NFTKernel

extension IPNatCommand {
  /// `ipnat list`: what is loaded, read back from the kernel.
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "list",
      _superCommandName: "ipnat",
      abstract: "Show the loaded rules, read back from the kernel, with their counters.",
      discussion: """
        Each line is one ipnat.conf rule in canonical form, with the packets and bytes its \
        translating rules counted and the file and line it was loaded from. NAT rules see the \
        first packet of each connection only, so their packets are connections translated, \
        like IPFilter's hits. After the rules, as IPFilter lists its hostmap: the clients \
        sticky round-robin targets remember, each with its destination, its server, the \
        seconds until it is forgotten and the rule.
        """)

    @OptionGroup var tableOption: TableOption

    @Flag(help: "Print only the rules, without counters or remembered clients.")
    var noCounters = false

    func run() throws {
      let listing = try Kernel.run { loader in try loader.listing(ofTable: tableOption.table) }
      FileOutput.standardOutput.write(listing.render(counters: !noCounters))
    }
  }

  /// `ipnat diff FILE`: what loading FILE would add and remove.
  struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "diff",
      _superCommandName: "ipnat",
      abstract: "Show what loading a file would add to, remove from and change in the loaded rules.",
      discussion: """
        Rules are compared by their canonical form, so moving a rule to another line is no \
        change. '-' marks a loaded rule the file does not have, '+' a rule of the file that \
        is not loaded, '~' a rule in both whose nftables form differs (for instance after a \
        different --interface-map), or a map of folded rules whose elements differ, with how \
        many go and come. Nothing is changed in the kernel.
        """)

    @OptionGroup var input: InputOptions
    @OptionGroup var lowering: LoweringFlags

    func run() throws {
      let frontend = Frontend(input: input)
      let file = try frontend.readInput()
      let compiled = try Kernel.linearize(try frontend.lower(file, with: lowering))
      let difference = try Kernel.run { loader in try loader.difference(loading: compiled, into: lowering.table) }
      var text = ""
      for rule in difference.removed { text += "- \(rule)\n" }
      for rule in difference.changed { text += "~ \(rule)\n" }
      for rule in difference.added { text += "+ \(rule)\n" }
      for map in difference.maps { text += "~ @\(map.name): \(Self.describe(map, among: compiled))\n" }
      if difference.isEmpty { text = "no changes: the loaded rules are those of \(file.name)\n" }
      FileOutput.standardOutput.write(text)
    }

    /// `1 element removed, 2 added, of the 50000 rules of lines 2-100000 folded into it`: a
    /// map's elements carry no line, so the folded rule's comment says whose they are.
    static func describe(_ map: IPNatRuleSummary.MapChange, among compiled: KernelTable) -> String {
      let counts = "\(map.removed) element\(map.removed == 1 ? "" : "s") removed, \(map.added) added"
      let suffix = " folded into @\(map.name)"
      guard let folded = compiled.rules.lazy.compactMap({ $0.origin?.text }).first(where: { $0.hasSuffix(suffix) })
      else { return counts }
      return counts + ", of the " + folded.dropLast(suffix.count) + " folded into it"
    }
  }
}
#endif
