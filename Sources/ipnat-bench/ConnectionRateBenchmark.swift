import ArgumentParser
#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// New connections per second through a router namespace holding N rules, against the same
/// router holding one. The N rules are the gateway mix, arranged so
/// that the traffic goes as deep into each as it can: port forwards on the interface it
/// arrives on and 1:1 maps on the one it leaves by, for other addresses; a last rule
/// masquerades it. Folded (ipnat's default) and unfolded (`--no-fold`) are both measured.
///
/// A burst of datagrams takes a tenth of a second, and the machine's speed changes from one
/// second to the next: rates taken seconds apart, in labs built one after the other, differed
/// by a third between runs of the same rules. So the one-rule and the folded router live side
/// by side, take short bursts in turn, and each pair of bursts gives a ratio; the report gives
/// the median ratio.
struct ConnectionRateBenchmark: SizedBenchmark {
  static let configuration = CommandConfiguration(
    commandName: "connections", abstract: "New connections per second with N rules against 1 rule (needs root).")

  @OptionGroup var sizes: SizeOptions

  static let targetRatio = 0.9
  static let roundsPerRun = 8
  static let datagramsPerRound = 10_000

  static func measure(rules: Int, runs: Int, tools: Tools) throws -> [ReportRow] {
    try tools.requireRoot()
    let masquerade = "map rwan 10.0.0.0/24 -> 0/32\n"
    let baseline = temporaryPath("conf")
    let gateway = temporaryPath("conf")
    defer { removeFile(baseline); removeFile(gateway) }
    try writeTextFile(baseline, masquerade)
    try writeTextFile(gateway, gatewayConfig(rules: rules - 1, inbound: "rlan", outbound: "rwan") + masquerade)

    let runDirectory = try RunDirectory()
    var ratios: [Double] = []
    var (one, folded, unfolded): ([Double], [Double], [Double]) = ([], [], [])
    for _ in 0..<runs {
      // Labs of their own for each run, so that every run starts with empty conntrack tables.
      let pair = try [RouterLab(tools: tools, tag: "a"), RouterLab(tools: tools, tag: "b")]
      defer { pair.forEach { $0.close() } }
      try load(baseline, into: pair[0], tools: tools, runDirectory: runDirectory)
      try load(gateway, into: pair[1], tools: tools, runDirectory: runDirectory)
      for lab in pair { _ = try connectionRate(lab, count: 500, round: 0, seconds: 10, tools: tools) }
      let rounds = min(roundsPerRun, pair[0].conntrackLimit() / 2 / datagramsPerRound)
      for round in 1...max(rounds, 1) {
        let rates = try pair.map { try connectionRate($0, count: datagramsPerRound, round: round, seconds: 10, tools: tools) }
        one.append(rates[0])
        folded.append(rates[1])
        ratios.append(rates[1] / rates[0])
      }
      // Unfolded rules make every connection slow: a time bound keeps the run short.
      let lab = try RouterLab(tools: tools, tag: "c")
      defer { lab.close() }
      try load(gateway, into: lab, tools: tools, runDirectory: runDirectory, flags: ["--no-fold"])
      _ = try connectionRate(lab, count: 500, round: 0, seconds: 2, tools: tools)
      unfolded.append(try connectionRate(lab, count: datagramsPerRound * 5, round: 1, seconds: 2, tools: tools))
    }
    let ratio = median(ratios)
    let perSecond = { (rate: Double) in "\(Int(rate).formatted)/s" }
    return [
      ReportRow(benchmark: "new connections", rules: rules, ipnat: "folded: " + perSecond(median(folded)),
                reference: "1 rule: " + perSecond(median(one)), ratio: ratio.rounded(2),
                target: "≥ \(targetRatio.rounded(1)) at 10k and 100k" + (rules >= 10_000 ? (ratio >= targetRatio ? ": met" : ": missed") : "")),
      ReportRow(benchmark: "new connections", rules: rules, ipnat: "--no-fold: " + perSecond(median(unfolded)),
                reference: "1 rule: " + perSecond(median(one)), ratio: (median(unfolded) / median(one)).rounded(3), target: ""),
    ]
  }

  private static func load(_ config: String, into lab: RouterLab, tools: Tools, runDirectory: borrowing RunDirectory,
                           flags: [String] = []) throws {
    // Load records name the table, not the namespace: one lab's must not stand for another's.
    runDirectory.empty()
    try lab.exec(lab.router, [tools.ipnat, "load", "--no-resolve"] + flags + [config])
  }

  /// Datagrams the far side received from one burst, per second of sending. Each round takes
  /// source ports of its own, so that every datagram is a new connection.
  private static func connectionRate(_ lab: RouterLab, count: Int, round: Int, seconds: Double, tools: Tools) throws -> Double {
    let before = try lab.receivedDatagrams()
    let report = try lab.exec(lab.lan, [tools.bench, "send-udp", "--from", "10.0.0.2", "--to", "192.0.2.2",
                                        "--count", String(count), "--seconds", String(seconds),
                                        "--first-port", String(20_000 + round * SendUDP.socketCount)])
    usleep(200_000)  // the last datagrams still on their way
    let received = try lab.receivedDatagrams() - before
    guard let elapsed = report.split(separator: " ").last.flatMap({ Double($0.filter { $0 != "\n" }) }), elapsed > 0 else {
      throw BenchError("unexpected sender report: \(report)")
    }
    return Double(received) / elapsed
  }
}
