import ArgumentParser
import IPNatKit

/// The input and the options that change what it means, shared by every subcommand that reads
/// one ipnat.conf.
struct InputOptions: ParsableArguments {
  @Argument(help: ArgumentHelp("The ipnat.conf to read, or '-' for standard input.", valueName: "file"))
  var file: String = "-"

  @OptionGroup var reading: ReadingOptions

  var frontendOptions: FrontendOptions { reading.frontendOptions }
  var color: ColorChoice { reading.color }
}

/// The options that change how a file reads, and how its diagnostics look.
struct ReadingOptions: ParsableArguments {
  @Flag(name: .customLong("no-resolve"),
        help: "Treat host names in rules as errors instead of looking them up, so the result never depends on DNS.")
  var noResolve = false

  @Option(name: .customShort("D"),
          help: ArgumentHelp("Define a variable, as if the file began with NAME = \"VALUE\";. Repeatable; overrides IPNAT_PREDEFINED.",
                             valueName: "NAME=VALUE"))
  var definitions: [String] = []

  @Option(help: ArgumentHelp("When to colour diagnostics: auto (only on a terminal), always or never.",
                             valueName: "when"))
  var color: ColorChoice = .auto

  @Option(name: .customLong("max-rules"),
          help: ArgumentHelp("Refuse a file of more rules than this; a million rules take about 1.3 GB to compile.",
                             valueName: "n"))
  var maximumRules = FrontendOptions().maximumRules

  func validate() throws {
    if maximumRules < 1 { throw ValidationError("--max-rules takes a number of rules, 1 or more") }
    for text in definitions where Definition(text) == nil {
      throw ValidationError("-D expects NAME=VALUE with a name made of a letter, then letters, digits or '_'; got '\(text)'")
    }
  }

  var frontendOptions: FrontendOptions {
    FrontendOptions(
      resolveHostNames: !noResolve,
      definitions: definitions.compactMap(Definition.init).map { ($0.name, $0.value) },
      predefined: Environment.value(of: "IPNAT_PREDEFINED"), maximumRules: maximumRules)
  }
}

enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
  case auto, always, never

  /// Whether diagnostics written to `output` get colour.
  func isEnabled(for output: FileOutput) -> Bool {
    switch self {
    case .always: true
    case .never: false
    case .auto: output.isTerminal && Environment.value(of: "NO_COLOR") == nil
    }
  }
}
