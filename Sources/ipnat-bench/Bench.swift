// ipnat-bench: the measurements that belong in a benchmark, not in timed unit tests.
//
//   swift build -c release && sudo .build/release/ipnat-bench all
//
// prints the table in README's "Performance" section. Every figure is a ratio or a time
// measured in the same run as what it is compared with: the machine may be shared and noisy.
import ArgumentParser

@main
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ipnat-bench",
    abstract: "Benchmarks for ipnat: compile, load and the packet path, at 1k, 10k and 100k rules.",
    discussion: """
      Configurations are generated: port forwards, 1:1 maps and every hundredth a customer's portmap, \
      the rules gateways hold by the thousand. 'load' and 'connections' need root; they work in \
      network namespaces of their own and delete them afterwards.
      """,
    subcommands: [All.self, CompileBenchmark.self, LoadBenchmark.self, ReloadBenchmark.self, ConnectionRateBenchmark.self,
                  ParseBenchmark.self, PhasesBenchmark.self, NATPMPBenchmark.self, Generate.self, SendUDP.self,
                  NATPMPClient.self])
}

/// The generated configuration itself, to profile or inspect what the benchmarks compile.
struct Generate: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Print a generated gateway configuration of N rules.")

  @Option(help: "How many rules.") var rules = 100_000

  func run() throws { print(gatewayConfig(rules: rules), terminator: "") }
}

/// Options every benchmark shares.
struct SizeOptions: ParsableArguments {
  @Option(name: .customLong("rules"), help: "Rule counts to measure (repeatable).")
  var sizes: [Int] = [1_000, 10_000, 100_000]

  @Option(help: "Runs of each measurement; the report gives the best (times) or the median (rates).")
  var runs = 3

  func validate() throws {
    guard sizes.allSatisfy({ $0 >= 2 }), runs >= 1 else { throw ValidationError("--rules must be at least 2 and --runs at least 1") }
  }
}

/// A benchmark measured at each rule count of `--rules`, one report row per measurement.
protocol SizedBenchmark: ParsableCommand {
  var sizes: SizeOptions { get }
  static func measure(rules: Int, runs: Int, tools: Tools) throws -> [ReportRow]
}

extension SizedBenchmark {
  func run() throws {
    let tools = try Tools.locate()
    print(ReportRow.table(try sizes.sizes.flatMap { try Self.measure(rules: $0, runs: sizes.runs, tools: tools) }))
  }
}

struct All: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Every benchmark, as one Markdown table (needs root).")

  @OptionGroup var sizes: SizeOptions

  func run() throws {
    let tools = try Tools.locate()
    var rows: [ReportRow] = []
    for size in sizes.sizes {
      rows += try CompileBenchmark.measure(rules: size, runs: sizes.runs, tools: tools)
      rows += try LoadBenchmark.measure(rules: size, runs: sizes.runs, tools: tools)
      rows += try ReloadBenchmark.measure(rules: size, runs: sizes.runs, tools: tools)
      rows += try ConnectionRateBenchmark.measure(rules: size, runs: sizes.runs, tools: tools)
    }
    print(ReportRow.table(rows))
  }
}
