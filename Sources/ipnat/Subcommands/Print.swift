import ArgumentParser
import IPNatKit

extension IPNatCommand {
  /// `ipnat print`: the rules as IPFilter itself lists them.
  struct Print: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "print",
      _superCommandName: "ipnat",
      abstract: "Print every rule in IPFilter's canonical form, as 'ipnat -l' lists it.",
      discussion: """
        The canonical form shows how IPFilter understood each rule: addresses masked \
        (10.0.0.5/8 prints 10.0.0.0/8), 'age N' as 'age N/N', service names as numbers, \
        the protocol an rdr rule gets by default, and so on. Printing printed rules again \
        gives the same text.

        On any error nothing is printed on standard output; the diagnostics go to standard \
        error and the exit status is 1.
        """)

    @OptionGroup var input: InputOptions

    func run() throws {
      let frontend = Frontend(input: input)
      let file = try frontend.readInput()
      try frontend.finish(IPNat.printCanonical(file, options: input.frontendOptions), file: file)
    }
  }
}
