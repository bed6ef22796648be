import IPNatNetlink

/// The loaded rules as `ipnat list`, `ipnat -l` and `ipnat -s` show them.
public struct Listing: Sendable {
  public var rules: [LoadedRule]
  public var summaries: [IPNatRuleSummary]
  /// The clients sticky round-robin targets remember, as IPFilter's hostmap.
  public var remembered: [RememberedClient]

  /// `remembered`: what the table's dynamic sets hold.
  public init(rules: [LoadedRule], remembered: [KernelRuleset.RememberedClients] = []) {
    self.rules = rules
    self.summaries = IPNatRuleSummary.group(rules)
    self.remembered = RememberedClient.decode(remembered, rules: rules)
  }

  /// One line per ipnat.conf rule, whole however long: with counters, a header and the place
  /// each rule was loaded from; without, just the rules.
  public func render(counters: Bool) -> String {
    guard counters else { return summaries.map { ($0.text ?? "# a rule ipnat did not write") + "\n" }.joined() }
    let packetWidth = max(7, summaries.map { String($0.packets).count }.max() ?? 0)
    let byteWidth = max(5, summaries.map { String($0.bytes).count }.max() ?? 0)
    var text = Self.pad("PACKETS", packetWidth) + "  " + Self.pad("BYTES", byteWidth) + "  RULE\n"
    for summary in summaries {
      text += Self.pad(String(summary.packets), packetWidth) + "  " + Self.pad(String(summary.bytes), byteWidth) + "  "
      text += (summary.text ?? "(a rule ipnat did not write)") + (summary.place.map { "  # \($0)" } ?? "") + "\n"
    }
    return text + rememberedClients
  }

  /// The clients that go back to their server, under a header of their own, after a blank
  /// line; nothing when no sticky target remembers one.
  private var rememberedClients: String {
    guard !remembered.isEmpty else { return "" }
    let rows = remembered.map { client in
      [client.client.description, client.destination.description + (client.port.map { " port \($0)" } ?? ""), client.server,
       client.expiresIn.map { "\($0) s" } ?? "-", (client.rule ?? "") + (client.place.map { "  # \($0)" } ?? "")]
    }
    let header = ["CLIENT", "DESTINATION", "SERVER", "FOR", "RULE"]
    let widths = (0..<header.count - 1).map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    func line(_ row: [String]) -> String {
      zip(row.dropLast(), widths).map { $0 + String(repeating: " ", count: $1 - $0.count) + "  " }.joined() + row.last! + "\n"
    }
    return "\nclients sticky targets remember (IPFilter's hostmap):\n" + line(header) + rows.map(line).joined()
  }

  /// ipnat(8)'s `-s`: how many rules, per chain, and what they translated.
  public var statistics: String {
    let chains = Dictionary(grouping: rules, by: \.chain).mapValues(\.count)
    var text = "rules loaded: \(summaries.count) (as \(rules.count) nftables rules)\n"
    for (chain, count) in chains.sorted(by: { $0.key < $1.key }) { text += "  chain \(chain): \(count)\n" }
    text += "translated: \(summaries.reduce(0) { $0 + $1.packets }) packets, \(summaries.reduce(0) { $0 + $1.bytes }) bytes\n"
    return text
  }

  private static func pad(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
  }
}
