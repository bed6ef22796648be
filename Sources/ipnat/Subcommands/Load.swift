import ArgumentParser
import IPNatKit
import IPNatNetlink

extension IPNatCommand {
  /// `ipnat load`: compile, then replace ipnat's table in the kernel in one transaction.
  struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Compile ipnat.conf and load it into the kernel, replacing ipnat's table atomically.",
      discussion: """
        ipnat's table (inet ipnat, or --table) is replaced in a single netlink transaction: \
        either the whole new ruleset applies or nothing changes. No other table is touched. \
        If another program changes the ruleset while ipnat loads, the load is refused and \
        nothing changes.

        A rule the kernel refuses is reported at its ipnat.conf line. Loading needs \
        CAP_NET_ADMIN: without it, the exit status is 4.
        """)

    @OptionGroup var input: InputOptions
    @OptionGroup var lowering: LoweringFlags

    @Flag(help: "Let the kernel check the whole ruleset, then discard it: nothing changes (like 'nft -c').")
    var check = false

    func run() throws {
      let frontend = Frontend(input: input)
      let file = try frontend.readInput()
      let table = try Kernel.linearize(try frontend.lower(file, with: lowering))
      try Kernel.run { ruleset in
        let generation = try ruleset.generation()
        try ruleset.replace(with: table, commit: check ? .checkOnly : .apply, generation: generation)
      }
    }
  }

  /// `ipnat flush`: remove ipnat's table.
  struct Flush: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Remove ipnat's table from the kernel, and nothing else.")

    @Option(help: ArgumentHelp("The name of the table ipnat owns.", valueName: "name"))
    var table = "ipnat"

    func run() throws {
      try Kernel.run { ruleset in try ruleset.remove(table: table) }
    }
  }
}
