import ArgumentParser
import IPNatKit

extension IPNatCommand {
  /// `ipnat compile`: ipnat.conf in, an nftables ruleset out.
  struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "compile",
      _superCommandName: "ipnat",
      abstract: "Compile ipnat.conf into an nftables ruleset that replaces ipnat's own table.",
      discussion: """
        The output replaces one table (inet ipnat, or --table) in a single transaction and \
        touches nothing else: load it with 'nft -f FILE', or 'nft -j -f FILE' for --format json.

        Rules are ordered as IPFilter searches them: the longest prefix first (the source \
        address for map rules, the destination for rdr rules), then file order. Every emitted \
        rule has a counter and a comment naming the ipnat.conf line it came from. Rules of one \
        shape (port forwards, 1:1 maps, ...) are folded into one map lookup once there are \
        --fold-threshold of them, without changing which rule translates which packet; the \
        folded rule's comment names the lines it stands for.

        A rule that nftables cannot express is an error at its line; on any error nothing is \
        written and the exit status is 1.
        """)

    @OptionGroup var input: InputOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the ruleset to this file instead of standard output.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("nft (an 'nft -f' script) or json (for 'nft -j -f').", valueName: "format"))
    var format: FormatChoice = .nft

    @OptionGroup var lowering: LoweringFlags

    func run() throws {
      let frontend = Frontend(input: input)
      let file = try frontend.readInput()
      // The process ends once the ruleset is written: nothing it built needs freeing.
      let outcome = IPNat.compile(file, options: input.frontendOptions, lowering: lowering.options,
                                  format: format.outputFormat, teardown: .atExit)
      try frontend.finish(outcome, file: file, writingTo: output)
    }
  }
}

enum FormatChoice: String, ExpressibleByArgument, CaseIterable {
  case nft, json

  var outputFormat: OutputFormat { self == .nft ? .nft : .json }
}
