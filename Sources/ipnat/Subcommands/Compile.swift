import ArgumentParser
import IPNatKit

extension IPNatCommand {
  /// `ipnat compile`: ipnat.conf in, an nftables ruleset out.
  struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Compile ipnat.conf into an nftables ruleset that replaces ipnat's own table.",
      discussion: """
        The output replaces one table (inet ipnat, or --table) in a single transaction and \
        touches nothing else: load it with 'nft -f FILE', or 'nft -j -f FILE' for --format json.

        Rules are ordered as IPFilter searches them: the longest prefix first (the source \
        address for map rules, the destination for rdr rules), then file order. Every emitted \
        rule has a counter and a comment naming the ipnat.conf line it came from.

        A rule that nftables cannot express is an error at its line; on any error nothing is \
        written and the exit status is 1.
        """)

    @OptionGroup var input: InputOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the ruleset to this file instead of standard output.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("nft (an 'nft -f' script) or json (for 'nft -j -f').", valueName: "format"))
    var format: FormatChoice = .nft

    @Option(help: ArgumentHelp("The name of the table ipnat owns.", valueName: "name"))
    var table = "ipnat"

    @Option(name: .customLong("interface-map"),
            help: ArgumentHelp("Rename an interface, e.g. le0=eth0 for a rule file from Solaris. Repeatable.",
                               valueName: "old=new"))
    var interfaceMap: [String] = []

    @Flag(help: "NAT reflection (hairpin): inside clients that connect to an rdr rule's external address reach the same server, masqueraded.")
    var reflection = false

    func validate() throws {
      if let problem = LoweringOptions.problem(withTableName: table) {
        throw ValidationError("--table \(table): \(problem)")
      }
      for pair in interfaceMap {
        let parts = pair.split(separator: "=", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
          throw ValidationError("--interface-map expects OLD=NEW, e.g. le0=eth0; got '\(pair)'")
        }
      }
    }

    func run() throws {
      let frontend = Frontend(input: input)
      let file = try frontend.readInput()
      let lowering = LoweringOptions(tableName: table, interfaceMap: renames, reflection: reflection)
      let outcome = IPNat.compile(file, options: input.frontendOptions, lowering: lowering, format: format.outputFormat)
      try frontend.finish(outcome, file: file, writingTo: output)
    }

    private var renames: [String: String] {
      var renames: [String: String] = [:]
      for pair in interfaceMap {
        let parts = pair.split(separator: "=", omittingEmptySubsequences: false)
        renames[String(parts[0])] = String(parts[1])
      }
      return renames
    }
  }
}

enum FormatChoice: String, ExpressibleByArgument, CaseIterable {
  case nft, json

  var outputFormat: OutputFormat { self == .nft ? .nft : .json }
}
