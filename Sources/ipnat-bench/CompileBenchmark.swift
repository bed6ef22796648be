import ArgumentParser

/// `ipnat compile` of a generated gateway configuration, as a separate process: wall time and
/// peak memory, against the absolute targets of issue 24 (issue 6 asked for 1 s and 150 MB).
struct CompileBenchmark: SizedBenchmark {
  static let configuration = CommandConfiguration(commandName: "compile", abstract: "Time and peak memory of 'ipnat compile'.")

  @OptionGroup var sizes: SizeOptions

  static let targetSeconds = 0.4
  static let targetMegabytes = 100.0

  static func measure(rules: Int, runs: Int, tools: Tools) throws -> [ReportRow] {
    let config = temporaryPath("conf")
    try writeTextFile(config, gatewayConfig(rules: rules))
    defer { removeFile(config) }
    var best = Measurement(seconds: .infinity, peakBytes: 0, status: 0, output: "")
    for _ in 0..<runs {
      let result = try measureProcess([tools.ipnat, "compile", "--no-resolve", config])
      guard result.status == 0 else { throw BenchError("ipnat compile failed with status \(result.status)") }
      if result.seconds < best.seconds { best = result }
    }
    var target = "≤ \(targetSeconds.rounded(1)) s, ≤ \(targetMegabytes.rounded(0)) MB at 100k"
    if rules == 100_000 {
      let bytes = Double(best.peakBytes) / 1_000_000
      target = "≤ \(targetSeconds.rounded(1)) s: " + (best.seconds <= targetSeconds ? "met" : "missed")
        + "; ≤ \(targetMegabytes.rounded(0)) MB: " + (bytes <= targetMegabytes ? "met" : "missed") + " (\(bytes.rounded(0)) MB)"
    }
    return [ReportRow(benchmark: "compile", rules: rules,
                      ipnat: "\(best.seconds.rounded(3)) s, \(best.megabytes.rounded(0)) MiB", reference: "",
                      ratio: "", target: target)]
  }
}
