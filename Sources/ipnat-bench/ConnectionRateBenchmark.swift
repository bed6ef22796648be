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
/// masquerades it. Folded (ipnat's default) and unfolded (`--no-fold`) are both measured: the
/// three variants in turn, each run in a lab of its own.
struct ConnectionRateBenchmark: SizedBenchmark {
  static let configuration = CommandConfiguration(
    commandName: "connections", abstract: "New connections per second with N rules against 1 rule (needs root).")

  @OptionGroup var sizes: SizeOptions

  static let targetRatio = 0.9
  static let datagramsPerRun = 50_000

  struct Variant {
    var name: String
    var config: String
    var flags: [String]
    /// Unfolded rules make every connection slow: a time bound keeps the run short.
    var seconds: Double
  }

  static func measure(rules: Int, runs: Int, tools: Tools) throws -> [ReportRow] {
    try tools.requireRoot()
    let masquerade = "map rwan 10.0.0.0/24 -> 0/32\n"
    let baseline = temporaryPath("conf")
    let gateway = temporaryPath("conf")
    defer { removeFile(baseline); removeFile(gateway) }
    try writeTextFile(baseline, masquerade)
    try writeTextFile(gateway, gatewayConfig(rules: rules - 1, inbound: "rlan", outbound: "rwan") + masquerade)
    let variants = [
      Variant(name: "1 rule", config: baseline, flags: [], seconds: 10),
      Variant(name: "folded", config: gateway, flags: [], seconds: 10),
      Variant(name: "unfolded", config: gateway, flags: ["--no-fold"], seconds: 2),
    ]

    // Each measurement has a router of its own, so that every run starts with an empty
    // conntrack table and no run's entries slow down the next.
    let runDirectory = try RunDirectory()
    func connectionRate(_ variant: Variant) throws -> Double {
      let lab = try RouterLab(tools: tools)
      defer { lab.close() }
      runDirectory.empty()
      try lab.exec(lab.router, [tools.ipnat, "load", "--no-resolve"] + variant.flags + [variant.config])
      func send(count: Int, firstPort: Int) throws -> Double {
        let before = try lab.receivedDatagrams()
        let report = try lab.exec(lab.lan, [tools.bench, "send-udp", "--from", "10.0.0.2", "--to", "192.0.2.2",
                                            "--count", String(count), "--seconds", String(variant.seconds),
                                            "--first-port", String(firstPort)])
        usleep(200_000)  // the last datagrams still on their way
        let received = try lab.receivedDatagrams() - before
        guard let seconds = report.split(separator: " ").last.flatMap({ Double($0.filter { $0 != "\n" }) }), seconds > 0 else {
          throw BenchError("unexpected sender report: \(report)")
        }
        return Double(received) / seconds
      }
      _ = try send(count: 500, firstPort: 20_000)  // neighbour discovery and first-use costs
      return try send(count: datagramsPerRun, firstPort: 20_000 + SendUDP.socketCount)
    }
    var rates = [[Double]](repeating: [], count: variants.count)
    for _ in 0..<runs {
      for (index, variant) in variants.enumerated() {
        rates[index].append(try connectionRate(variant))
      }
    }
    let (one, folded, unfolded) = (median(rates[0]), median(rates[1]), median(rates[2]))
    let ratio = folded / one
    let perSecond = { (rate: Double) in "\(Int(rate).formatted)/s" }
    return [
      ReportRow(benchmark: "new connections", rules: rules, ipnat: "folded: " + perSecond(folded), reference: "1 rule: " + perSecond(one),
                ratio: ratio.rounded(2),
                target: "≥ \(targetRatio.rounded(1)) at 10k and 100k" + (rules >= 10_000 ? (ratio >= targetRatio ? ": met" : ": missed") : "")),
      ReportRow(benchmark: "new connections", rules: rules, ipnat: "--no-fold: " + perSecond(unfolded),
                reference: "1 rule: " + perSecond(one), ratio: (unfolded / one).rounded(3), target: ""),
    ]
  }
}
