import ArgumentParser

/// `ipnat load` of a loaded file after a one-line change, which sends only the difference,
/// against `ipnat load --full` of the same file, both in one network namespace; with the time
/// `ipnat compile` takes, which a full load includes. The change moves a port forward to
/// another port; others change the port and the address a forward matches, where no rule
/// overlaps it: all are compiled alone. A forward added at the end compiles the whole file.
struct ReloadBenchmark: SizedBenchmark {
  static let configuration = CommandConfiguration(
    commandName: "reload", abstract: "'ipnat load' after a one-line change against 'load --full' (needs root).")

  @OptionGroup var sizes: SizeOptions

  static let targetSeconds = 0.15

  static func measure(rules: Int, runs: Int, tools: Tools) throws -> [ReportRow] {
    try tools.requireRoot()
    let config = temporaryPath("conf")
    defer { removeFile(config) }
    try writeTextFile(config, gatewayConfig(rules: rules))
    let output = try capture([tools.unshare, "--net", "bash", "-c", script(ipnat: tools.ipnat, config: config, runs: runs)])
    var best: [String: Double] = [:]
    var updates: [String] = []
    for line in output.split(separator: "\n") {
      let words = line.split(separator: " ")
      if line.hasPrefix("ipnat: ") { updates.append(String(line.dropFirst(7))) }
      guard words.count == 2, let microseconds = Double(words[1]) else { continue }
      best[String(words[0])] = min(best[String(words[0])] ?? .infinity, microseconds / 1e6)
    }
    guard let update = best["update"], let full = best["full"], let compile = best["compile"],
      let matchedPort = best["matchedPort"], let matchedAddress = best["matchedAddress"], let added = best["added"],
      updates.count >= 4,
      updates.allSatisfy({ $0.hasPrefix("updated:") })
    else { throw BenchError("reload: unexpected output:\n\(output)") }
    func target(_ seconds: Double) -> String {
      "≤ \(targetSeconds) s at 100k" + (rules == 100_000 ? (seconds <= targetSeconds ? ": met" : ": missed") : "")
    }
    return [
      ReportRow(benchmark: "reload, a forward moved", rules: rules, ipnat: "\(update.rounded(3)) s (\(updates[0]))",
                reference: "load --full: \(full.rounded(3)) s; compile alone: \(compile.rounded(3)) s",
                ratio: (update / full).rounded(2), target: target(update)),
      ReportRow(benchmark: "reload, a matched port changed", rules: rules, ipnat: "\(matchedPort.rounded(3)) s (\(updates[1]))",
                reference: "load --full: \(full.rounded(3)) s", ratio: (matchedPort / full).rounded(2), target: target(matchedPort)),
      ReportRow(benchmark: "reload, a matched address changed", rules: rules,
                ipnat: "\(matchedAddress.rounded(3)) s (\(updates[2]))", reference: "load --full: \(full.rounded(3)) s",
                ratio: (matchedAddress / full).rounded(2), target: target(matchedAddress)),
      ReportRow(benchmark: "reload, a forward added", rules: rules, ipnat: "\(added.rounded(3)) s (\(updates[3]))",
                reference: "load --full: \(full.rounded(3)) s", ratio: (added / full).rounded(2), target: ""),
    ]
  }

  /// Loads the file, then, `runs` times: changes the port its first rule forwards to and loads
  /// it (`update`), changes it back and loads it with --full (`full`), changes the port the rule
  /// matches and loads it (`matchedPort`), the address it matches likewise (`matchedAddress`),
  /// each changed back after, and adds a forward at the end (`added`), taken out after; prints
  /// each time as `NAME MICROSECONDS`. Load records go to a directory of the run's own.
  static func script(ipnat: String, config: String, runs: Int) -> String {
    """
    set -e
    exec 2>&1
    ipnat=\(shellWord(ipnat)); config=\(shellWord(config))
    export IPNAT_RUN_DIRECTORY=$(mktemp -d)
    trap 'rm -rf "$IPNAT_RUN_DIRECTORY"' EXIT
    timed() {
      local name=$1; shift
      local start=$(date +%s%N)
      "$@" > /dev/null
      echo "$name $(( ($(date +%s%N) - start) / 1000 ))"
    }
    "$ipnat" load --no-resolve "$config"
    for run in $(seq \(runs)); do
      sed -i '2s/port 8080 tcp/port 8081 tcp/' "$config"
      timed update "$ipnat" load -v --no-resolve "$config"
      sed -i '2s/port 8081 tcp/port 8080 tcp/' "$config"
      timed full "$ipnat" load --full --no-resolve "$config"
      sed -i '2s/ port 80 / port 81 /' "$config"
      timed matchedPort "$ipnat" load -v --no-resolve "$config"
      sed -i '2s/ port 81 / port 80 /' "$config"
      "$ipnat" load --no-resolve "$config"
      sed -i '2s| 198.18.0.0/32 | 198.18.0.1/32 |' "$config"
      timed matchedAddress "$ipnat" load -v --no-resolve "$config"
      sed -i '2s| 198.18.0.1/32 | 198.18.0.0/32 |' "$config"
      "$ipnat" load --no-resolve "$config"
      echo 'rdr eth0 198.51.100.1/32 port 80 -> 10.9.0.1 port 8080 tcp' >> "$config"
      timed added "$ipnat" load -v --no-resolve "$config"
      sed -i '$d' "$config"
      "$ipnat" load --no-resolve "$config"
    done
    timed compile "$ipnat" compile --no-resolve "$config"
    """
  }

  static func shellWord(_ text: String) -> String {
    "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
  }
}
