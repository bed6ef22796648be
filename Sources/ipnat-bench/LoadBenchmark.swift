import ArgumentParser

/// `ipnat load` (folded rules, one netlink batch) against `nft -f` of the literal, unfolded
/// script (`ipnat compile --no-fold`, issue 6's target), and of the folded script (issue 24's:
/// no slower, at half the memory), each in a fresh network namespace (`unshare --net`).
struct LoadBenchmark: SizedBenchmark {
  static let configuration = CommandConfiguration(
    commandName: "load", abstract: "'ipnat load' against 'nft -f' of the unfolded script (needs root).")

  @OptionGroup var sizes: SizeOptions

  static let targetRatio = 0.5
  static let foldedTargetRatio = 1.0
  static let foldedTargetMemoryRatio = 0.5

  static func measure(rules: Int, runs: Int, tools: Tools) throws -> [ReportRow] {
    try tools.requireRoot()
    let config = temporaryPath("conf")
    let unfolded = temporaryPath("nft")
    let folded = temporaryPath("nft")
    defer { [config, unfolded, folded].forEach { removeFile($0) } }
    try writeTextFile(config, gatewayConfig(rules: rules))
    try writeTextFile(unfolded, try capture([tools.ipnat, "compile", "--no-resolve", "--no-fold", config]))
    try writeTextFile(folded, try capture([tools.ipnat, "compile", "--no-resolve", config]))

    let commands = [
      [tools.unshare, "--net", tools.ipnat, "load", "--no-resolve", config],
      [tools.unshare, "--net", tools.nft, "-f", unfolded],
      [tools.unshare, "--net", tools.nft, "-f", folded],
    ]
    var best = [Measurement](repeating: Measurement(seconds: .infinity, peakBytes: 0, status: 0, output: ""), count: commands.count)
    let runDirectory = try RunDirectory()
    // Interleaved, so that a busy moment of the machine hits all three alike.
    for _ in 0..<runs {
      for (index, command) in commands.enumerated() {
        runDirectory.empty()
        let result = try measureProcess(command)
        guard result.status == 0 else { throw BenchError("\(command[2...].joined(separator: " ")) failed with status \(result.status)") }
        if result.seconds < best[index].seconds { best[index] = result }
      }
    }
    let (ours, literal, foldedScript) = (best[0], best[1], best[2])
    let ratio = ours.seconds / literal.seconds
    let foldedRatio = ours.seconds / foldedScript.seconds
    let memoryRatio = Double(ours.peakBytes) / Double(max(1, foldedScript.peakBytes))
    var foldedTarget = "≤ \(foldedTargetRatio.rounded(1)), at ≤ \(foldedTargetMemoryRatio.rounded(1)) of its memory, at 100k"
    if rules == 100_000 {
      foldedTarget = "time ≤ \(foldedTargetRatio.rounded(1)): " + (foldedRatio <= foldedTargetRatio ? "met" : "missed")
        + "; memory ≤ \(foldedTargetMemoryRatio.rounded(1)): " + (memoryRatio <= foldedTargetMemoryRatio ? "met" : "missed")
        + " (\(memoryRatio.rounded(2)))"
    }
    let describe = { (m: Measurement) in "\(m.seconds.rounded(3)) s, \(m.megabytes.rounded(0)) MiB" }
    return [
      ReportRow(benchmark: "load", rules: rules, ipnat: describe(ours), reference: "nft -f, unfolded: " + describe(literal),
                ratio: ratio.rounded(2), target: "≤ \(targetRatio.rounded(1)) at 100k" + (rules == 100_000 ? (ratio <= targetRatio ? ": met" : ": missed") : "")),
      ReportRow(benchmark: "load", rules: rules, ipnat: describe(ours), reference: "nft -f, folded: " + describe(foldedScript),
                ratio: foldedRatio.rounded(2), target: foldedTarget),
    ]
  }
}
