// Only with the Kernel trait (the default): a build without it has no libnftnl or libmnl.
#if Kernel
import ArgumentParser
import IPNatKit
import IPNatLoader

extension IPNatCommand {
  /// `ipnat list`: what is loaded, read back from the kernel.
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      _superCommandName: "ipnat",
      abstract: "Show the loaded rules, read back from the kernel, with their counters.",
      discussion: """
        Each line is one ipnat.conf rule in canonical form, with the packets and bytes its \
        translating rules counted and the file and line it was loaded from. NAT rules see the \
        first packet of each connection only, so their packets are connections translated, \
        like IPFilter's hits.
        """)

    @OptionGroup var tableOption: TableOption

    @Flag(help: "Print only the rules, without counters.")
    var noCounters = false

    func run() throws {
      let listing = try Kernel.run { loader in try loader.listing(ofTable: tableOption.table) }
      FileOutput.standardOutput.write(listing.render(counters: !noCounters))
    }
  }

  /// `ipnat diff FILE`: what loading FILE would add and remove.
  struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
      _superCommandName: "ipnat",
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
      let difference = try Kernel.run { loader in try loader.difference(loading: compiled, into: lowering.table) }
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
