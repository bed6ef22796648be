import IPNatDiagnostics
import IPNatKit
import IPNatLoader
import IPNatLowering
import IPNatNetlink
import NFTKernel
import Testing

/// The loader's decisions against a ruleset in memory: no root, no kernel. The kernel tests in
/// `LoaderTests` check the same commands against the real thing.
struct LoaderBehaviourTests {
  static let longRule =
    "map wan0 from 10.1.0.0/16 port > 1023 to 203.0.113.0/24 port = 443 -> 198.51.100.1/32 portmap tcp/udp 20000:29999 mssclamp 1400"

  /// `folding`: the fold threshold, nil for none.
  static func compile(_ text: String, name: String = "gateway.conf",
                      folding: Int? = LoweringOptions.defaultFoldThreshold) throws -> KernelTable {
    var lowering = LoweringOptions()
    lowering.foldThreshold = folding
    let (table, diagnostics) = IPNat.lower(SourceFile(name: name, text: text), options: FrontendOptions(resolveHostNames: false),
                                           lowering: lowering)
    let compiled = try #require(table, "\(diagnostics)")
    return try Loader<MemoryTransport>.linearize(compiled)
  }

  static let first = "map wan0 10.0.0.0/8 -> 192.0.2.1/32\nrdr wan0 0/0 port 80 -> 10.0.0.5 port 8080 tcp\n"
  static let second = "map wan0 10.0.0.0/8 -> 192.0.2.2/32\n"

  @Test func confirmedLoadKeepsTheNewRules() throws {
    let transport = MemoryTransport()
    let loader = Loader(transport)
    try loader.load(try Self.compile(Self.first))
    let window = ScriptedWindow(confirms: true)
    var announced = false
    let outcome = try loader.load(try Self.compile(Self.second), awaitingConfirmationIn: window, seconds: 30) {
      announced = true
    }
    #expect(outcome == .confirmed && announced && window.opened && window.waitedSeconds == 30)
    #expect(try loader.listing(ofTable: "ipnat").render(counters: false) == "map wan0 10.0.0.0/8 -> 192.0.2.2/32\n")
  }

  @Test func unconfirmedLoadPutsThePreviousRulesBack() throws {
    let transport = MemoryTransport()
    let loader = Loader(transport)
    let before = try Self.compile(Self.first)
    try loader.load(before)
    let outcome = try loader.load(try Self.compile(Self.second), awaitingConfirmationIn: ScriptedWindow(confirms: false),
                                  seconds: 1)
    #expect(outcome == .rolledBack)
    #expect(transport.tables["ipnat"] == before)
  }

  /// With no table before, rolling back leaves none.
  @Test func unconfirmedFirstLoadLeavesNoTable() throws {
    let transport = MemoryTransport()
    _ = try Loader(transport).load(try Self.compile(Self.second), awaitingConfirmationIn: ScriptedWindow(confirms: false),
                                   seconds: 1)
    #expect(transport.tables.isEmpty)
  }

  /// A load the kernel refuses changes nothing and withdraws the window: there is nothing to
  /// confirm, and a later load may wait again.
  @Test func refusedConfirmLoadWithdrawsTheWindow() throws {
    let transport = MemoryTransport()
    let before = try Self.compile(Self.first)
    try Loader(transport).load(before)
    let faulty = Loader(FaultInjectingTransport(transport, faults: [.missingChain]))
    let window = ScriptedWindow(confirms: true)
    #expect(throws: NetlinkError.self) {
      _ = try faulty.load(try Self.compile(Self.second), awaitingConfirmationIn: window, seconds: 5)
    }
    #expect(window.withdrawn && window.waitedSeconds == nil)
    #expect(transport.tables["ipnat"] == before)
  }

  /// A concurrent change between reading the generation and loading refuses the load whole.
  @Test func concurrentChangeRefusesTheLoad() throws {
    let transport = MemoryTransport()
    transport.interloper = {}
    #expect(throws: NetlinkError.concurrentChange) { try Loader(transport).load(try Self.compile(Self.first)) }
    #expect(transport.tables.isEmpty)
  }

  @Test func checkChangesNothing() throws {
    let transport = MemoryTransport()
    let outcome = try Loader(transport).load(try Self.compile(Self.first), commit: .checkOnly)
    #expect(outcome == .checked)
    #expect(transport.tables.isEmpty && transport.currentGeneration == 1)
  }

  static let firstEdited = "map wan0 10.0.0.0/8 -> 192.0.2.1/32\nrdr wan0 0/0 port 81 -> 10.0.0.5 port 8080 tcp\n"

  /// A second load goes in as an update where the transport can make one: the rule that did
  /// not change keeps its handle, the edited one gets a new one.
  @Test func reloadUpdatesInPlace() throws {
    let transport = MemoryTransport()
    let loader = Loader(transport)
    #expect(try loader.load(try Self.compile(Self.first)) == .replaced)
    let before = try transport.rules(ofTable: "ipnat")
    let outcome = try loader.load(try Self.compile(Self.firstEdited))
    guard case .updated(let update) = outcome else {
      Issue.record("expected an update, got \(outcome)")
      return
    }
    let after = try transport.rules(ofTable: "ipnat")
    #expect(update.keptRules == 1)
    #expect(Set(before.map(\.handle)).intersection(after.map(\.handle)).count == 1)
  }

  /// `--full` replaces the table even where an update would do: every rule is new.
  @Test func fullLoadReplaces() throws {
    let transport = MemoryTransport()
    let loader = Loader(transport)
    try loader.load(try Self.compile(Self.first))
    let before = try transport.rules(ofTable: "ipnat")
    #expect(try loader.load(try Self.compile(Self.first), method: .replace) == .replaced)
    let after = try transport.rules(ofTable: "ipnat")
    #expect(Set(before.map(\.handle)).isDisjoint(with: after.map(\.handle)))
  }

  /// `-r -f FILE` takes out the nftables rules of exactly the file's rules, long ones too, even
  /// when the file is another one and the rule stands on another line.
  @Test func removeTakesOutExactlyTheFilesRules() throws {
    let transport = MemoryTransport()
    let loader = Loader(transport)
    try loader.load(try Self.compile(Self.first + Self.longRule + "\n"))
    let removed = try loader.removeRules(of: try Self.compile("\n\n" + Self.longRule + "\n", name: "other.conf"),
                                         fromTable: "ipnat")
    #expect(removed.rules == 3)  // the translation and its two MSS clamps
    let listing = try loader.listing(ofTable: "ipnat").render(counters: false)
    // Chain order: rdr rules (dstnat) come before map rules (srcnat).
    #expect(listing == "rdr wan0 0/0 port 80 -> 10.0.0.5/32 port 8080 tcp\nmap wan0 10.0.0.0/8 -> 192.0.2.1/32\n")
  }

  /// `-r -f FILE` takes folded rules out of their maps: exactly the elements that stand for
  /// the file's rules go. A 1:1 map and an address-only rdr of the same addresses have the same
  /// element, each in a fold of its own chain: only the map's goes.
  @Test func removeTakesFoldedRulesOutOfTheirFolds() throws {
    let maps = (1...10).map { "map wan0 10.0.0.\($0)/32 -> 203.0.113.\($0)/32\n" }
    let forwards = (1...10).map { "rdr wan0 10.0.0.\($0)/32 -> 203.0.113.\($0) ip\n" }
    let transport = MemoryTransport()
    let loader = Loader(transport)
    try loader.load(try Self.compile((maps + forwards).joined() + Self.first))
    let file = "# two of the maps, and a rule that folds in no loaded fold\n" + maps[3] + maps[7] + Self.first
    let removal = try loader.removeRules(of: try Self.compile(file, folding: nil), foldedAs: try Self.compile(file, folding: 1),
                                         fromTable: "ipnat")
    #expect(removal == Loader<MemoryTransport>.Removal(rules: 2, mapElements: 2))
    let folds = try #require(transport.tables["ipnat"]?.sets.filter { $0.name.hasPrefix("fold_") })
    #expect(folds.map(\.elements.count).sorted() == [8, 10])
    #expect(try loader.listing(ofTable: "ipnat").render(counters: false).contains("10.0.0.0/8") == false)
    // The fold of the chain the rules were in lost them; the other fold is whole.
    let expected = try Self.compile(maps.enumerated().filter { ![3, 7].contains($0.offset) }.map(\.element).joined())
    let remaining = try #require(folds.first { $0.elements.count == 8 })
    #expect(Set(remaining.elements) == Set(try #require(expected.sets.first { $0.name.hasPrefix("fold_") }).elements))
  }

  @Test func removeRefusesWhenTheRulesetChanged() throws {
    let transport = MemoryTransport()
    let loader = Loader(transport)
    try loader.load(try Self.compile(Self.first))
    transport.interloper = {}
    #expect(throws: NetlinkError.concurrentChange) {
      try loader.removeRules(of: try Self.compile(Self.first), fromTable: "ipnat")
    }
    #expect(transport.tables["ipnat"]?.rules.count == 2)
  }

  @Test func diffComparesByCanonicalText() throws {
    let loader = Loader(MemoryTransport())
    try loader.load(try Self.compile(Self.first + Self.longRule + "\n"))
    #expect(try loader.difference(loading: try Self.compile("\n" + Self.first + Self.longRule), into: "ipnat").isEmpty)
    let difference = try loader.difference(loading: try Self.compile(Self.second + Self.longRule), into: "ipnat")
    #expect(difference.removed == ["rdr wan0 0/0 port 80 -> 10.0.0.5/32 port 8080 tcp", "map wan0 10.0.0.0/8 -> 192.0.2.1/32"])
    #expect(difference.added == ["map wan0 10.0.0.0/8 -> 192.0.2.2/32"])
    #expect(difference.changed.isEmpty)
    let renamed = try loader.difference(loading: try Self.compile(Self.first.replacingAll("wan0", "wan1")
      .replacingAll("wan1 10.0.0.0/8", "wan0 10.0.0.0/8") + Self.longRule), into: "ipnat")
    #expect(renamed.added == ["rdr wan1 0/0 port 80 -> 10.0.0.5/32 port 8080 tcp"])
  }

  /// A folded port forward that changes leaves its rule as it was and changes its map: the
  /// difference names the map and how many elements go and come.
  @Test func diffSeesChangedElementsOfFoldedRules() throws {
    let forwards = (1...10).map { "rdr wan0 192.0.2.1/32 port \(1000 + $0) -> 10.0.0.\($0) port 80 tcp" }
    let loader = Loader(MemoryTransport())
    try loader.load(try Self.compile(forwards.joined(separator: "\n") + "\n"))
    var edited = forwards
    edited[3] = "rdr wan0 192.0.2.1/32 port 1004 -> 10.0.0.44 port 80 tcp"
    let difference = try loader.difference(loading: try Self.compile(edited.joined(separator: "\n") + "\n"), into: "ipnat")
    #expect(difference.removed.isEmpty && difference.added.isEmpty && difference.changed.isEmpty)
    #expect(difference.maps == [IPNatRuleSummary.MapChange(name: "fold_1", removed: 1, added: 1)])
    #expect(!difference.isEmpty)
  }

  /// A rule the kernel refuses is a diagnostic at its line, with the kernel's reason.
  @Test func refusedRuleIsADiagnosticAtItsLine() throws {
    let source = SourceFile(name: "gateway.conf", text: Self.first)
    let table = try Loader<MemoryTransport>.linearize(try #require(IPNat.lower(source).table))
    let faulty = Loader(FaultInjectingTransport(MemoryTransport(), faults: [.missingChain]))
    let error = try #require(throws: NetlinkError.self) { try faulty.load(table) }
    let diagnostics = try #require(error.diagnostics)
    #expect(diagnostics.map(\.id) == ["kernel.rejected"])
    let rendered = DiagnosticRenderer().render(diagnostics, in: source)
    // The fault moves the batch's last rule, the map of line 1 (srcnat comes after dstnat).
    #expect(rendered.hasPrefix("gateway.conf:1:1: error: the kernel refused a rule in chain ipnat_test_missing_chain: "))
    #expect(rendered.contains("[kernel.rejected]\nmap wan0 10.0.0.0/8 -> 192.0.2.1/32\n^~~~"))
  }

  @Test func listingShowsLongRulesWholeWithTheirPlace() throws {
    let loader = Loader(MemoryTransport())
    try loader.load(try Self.compile(Self.first + Self.longRule + "\n"))
    let lines = try loader.listing(ofTable: "ipnat").render(counters: true).split(separator: "\n")
    #expect(lines.first == "PACKETS  BYTES  RULE")
    #expect(lines.contains("      0      0  \(Self.longRule)  # gateway.conf:3"))
    #expect(try loader.listing(ofTable: "ipnat").statistics.hasPrefix("rules loaded: 3 (as "))
  }
}

extension String {
  func replacingAll(_ target: String, _ replacement: String) -> String {
    split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
  }
}
