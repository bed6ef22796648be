import ArgumentParser
import IPNatDiagnostics
import IPNatKit
import IPNatLowering
import IPNatSyntax
import NFTText

/// The front end alone, in this process: parse and print canonically.
struct ParseBenchmark: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "parse", abstract: "Parse a grammar-wide configuration and print it canonically, in this process.")

  @Option(help: "Rules in the generated configuration.") var rules = 100_000
  @Option(help: "Runs; the best is reported.") var runs = 3

  func run() throws {
    let text = grammarMixConfig(rules: rules)
    let file = SourceFile(name: "generated.conf", text: text)
    let options = FrontendOptions(resolveHostNames: false)
    var parseBest = Double.infinity
    var printBest = Double.infinity
    for _ in 0..<runs {
      let start = now()
      let parsed = IPNat.parse(file, options: options)
      let parsedAt = now()
      guard !parsed.diagnostics.hasErrors else {
        throw BenchError("the generated file did not parse:\n" + DiagnosticRenderer().render(Array(parsed.diagnostics.prefix(5)), in: file))
      }
      _ = CanonicalPrinter.print(parsed.config)
      parseBest = min(parseBest, parsedAt - start)
      printBest = min(printBest, now() - parsedAt)
    }
    let mebibytes = Double(text.utf8.count) / 1_048_576
    print("parse: \(rules.formatted) rules (\(mebibytes.rounded(1)) MiB): best of \(runs) \(parseBest.rounded(3)) s, "
      + "\(Int(Double(rules) / parseBest).formatted) rules/s; canonical print \(printBest.rounded(3)) s; "
      + "peak RSS \(peakResidentBytes() / 1_048_576) MiB")
  }
}

/// Where compile's time goes, stage by stage, in this process.
struct PhasesBenchmark: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "phases", abstract: "Time each stage of compile (parse, lower, emit) on the gateway configuration, in this process, then parsing and lowering overlapped, as compile runs them.")

  @Option(help: "Rules in the generated configuration.") var rules = 100_000
  @ArgumentParser.Flag(help: "Lower without folding.") var noFold = false

  func run() throws {
    let file = SourceFile(name: "generated.conf", text: gatewayConfig(rules: rules))
    let start = now()
    let config = IPNat.parse(file, options: FrontendOptions(resolveHostNames: false)).config
    let parsedAt = now()
    let parsedPeak = peakResidentBytes() / 1_048_576
    var options = LoweringOptions()
    if noFold { options.foldThreshold = nil }
    let lowered = Lowering.lower(consume config, in: file, options: options)
    let loweredAt = now()
    let loweredPeak = peakResidentBytes() / 1_048_576
    guard let table = lowered.table else { throw BenchError("the generated file did not compile") }
    let script = ScriptEmitter.script(replacing: table)
    let end = now()
    print("\(rules.formatted) rules: parse \((parsedAt - start).rounded(3)) s, lower \((loweredAt - parsedAt).rounded(3)) s, "
      + "emit \((end - loweredAt).rounded(3)) s (\(script.utf8.count / 1024) KiB); peak RSS after parse \(parsedPeak) MiB, "
      + "after lowering \(loweredPeak) MiB, at the end \(peakResidentBytes() / 1_048_576) MiB")
    // What compile does: lowering each rule as the parser, on a thread of its own, reads on.
    let overlappedStart = now()
    _ = IPNat.lower(file, options: FrontendOptions(resolveHostNames: false), lowering: options)
    print("parse and lower as compile runs them, overlapped: \((now() - overlappedStart).rounded(3)) s")
  }
}
