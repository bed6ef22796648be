import IPNatDiagnostics
import IPNatSemantics
import IPNatSyntax
import NFTModel

/// Lowering turns a parsed ipnat.conf into one nftables table that translates packets as
/// IPFilter would have, using only nftables forms whose effect on packets was checked on
/// this kernel (the packet tests in `Tests/PacketTests` keep checking them).
///
/// The table has four chains:
///
/// - `dstnat` (nat, prerouting): rdr rules and the inbound half of bimap;
/// - `srcnat` (nat, postrouting): map, map-block and the outbound half of bimap;
/// - `ct_attrs` (filter, forward, mangle): conntrack helpers for `proxy`, timeouts for `age`;
/// - `mssclamp` (filter, forward, mangle + 1): `mssclamp` on SYN and SYN-ACK.
///
/// IPFilter does not search its rules in file order: it tries the longest left-hand-side prefix first (the source for
/// map rules, the destination for rdr rules) and only then file order (`ip_nat.c: ipf_nat_checkout`,
/// `ipf_nat_checkin`). NAT statements end the chain, so the NAT chains hold their rules in exactly that order.
///
/// What Linux cannot express is an error at the rule's line; a rule is never dropped silently.
/// Each emitted rule has a counter and a comment naming the line it came from. Many rules of
/// one shape (port forwards, 1:1 maps) then fold into one map lookup (`RuleFolder`), whose
/// comment names the lines it stands for: a new connection costs one lookup instead of a walk
/// through thousands of rules.
public struct Lowering {
  private var builder: TableBuilder
  private var roundRobin = RoundRobinCollector()
  private var roundRobinPlaces: [TableBuilder.Place] = []
  private var rulesTaken = 0

  /// A lowering that takes the rules of `file` one at a time (``add(_:)``), as the parser
  /// reads them: each rule's syntax tree can go as soon as it is lowered, so a large file never
  /// holds its whole syntax tree, nor that and its whole IR.
  public init(file: SourceFile, options: LoweringOptions = LoweringOptions()) {
    self.init(file: file, options: options, keepingOutput: true)
  }

  private init(file: SourceFile, options: LoweringOptions, keepingOutput: Bool) {
    // One rule per line is the usual layout: room for that many is made at once. A rule takes
    // a dozen bytes at least, and the rule limit bounds the rest (a file of blank lines).
    let expectedRules = min(file.lineCount, file.bytes.count / 12, ParseOptions.defaultMaximumRules)
    builder = TableBuilder(file: file, options: options, expectedGroups: expectedRules, keepsOutput: keepingOutput)
  }

  /// Lowers the file's next rule. A round-robin rdr rule takes its turns with partners that may
  /// come later in the file, so its group is lowered by ``finish()``, at its first rule's place.
  /// `canonicalForm`: the rule as `CanonicalPrinter` prints it, if that is done already.
  public mutating func add(_ rule: consuming IPNatSyntax.Rule, printedAs canonicalForm: String? = nil) {
    rulesTaken += 1
    switch roundRobin.take(rule, ordinal: rulesTaken) {
    case .notRoundRobin: builder.lower(.single(rule, ordinal: rulesTaken), printedAs: canonicalForm)
    case .opensGroup: roundRobinPlaces.append(builder.reservePlace())
    case .joinsGroup: break
    }
  }

  /// The table, or only diagnostics if any rule had an error; called once, after the last rule.
  /// The lowering is left empty: it lets go of what it held as the table is made, so that
  /// folding has the memory.
  public mutating func finish() -> LoweringResult {
    let groups = roundRobin.groups
    roundRobin = RoundRobinCollector()
    for (place, group) in zip(roundRobinPlaces, groups) { builder.lower(group, at: place) }
    roundRobinPlaces = []
    return builder.finish()
  }

  /// What lowering `config` would report, without the table: nothing a rule is lowered to is
  /// kept, so lint, which holds the syntax tree, does not also hold the IR.
  public static func diagnostics(of config: Config, in file: SourceFile, options: LoweringOptions = LoweringOptions())
    -> [Diagnostic]
  {
    var options = options
    // Folding never adds a diagnostic.
    options.foldThreshold = nil
    var lowering = Lowering(file: file, options: options, keepingOutput: false)
    for rule in config.rules { lowering.add(rule) }
    return lowering.finish().diagnostics
  }

  /// Lowers a whole parsed file. Each rule's syntax tree is let go once the rule is lowered
  /// (when the caller holds no other copy of `config`).
  public static func lower(_ config: consuming Config, in file: SourceFile, options: LoweringOptions = LoweringOptions())
    -> LoweringResult
  {
    var lowering = Lowering(file: file, options: options)
    var rules = (consume config).rules
    rules.drain { lowering.add($0) }
    return lowering.finish()
  }
}

public struct LoweringOptions: Sendable {
  /// The name of the table ipnat owns (`--table`).
  public var tableName: String
  /// `--interface-map le0=eth0`: Solaris or BSD interface names and their Linux names.
  public var interfaceMap: [String: String]
  /// `--reflection`: let inside clients reach rdr'd services at the external address.
  public var reflection: Bool
  /// What the output that follows the lowering can express (`ScriptEmitter.capabilities`,
  /// `JSONEmitter.capabilities`): a form it cannot hold is avoided, or its rule becomes an error.
  public var target: OutputCapabilities
  /// Fold rules of one shape into a map once there are this many (`RuleFolder`); `nil`
  /// (`--no-fold`) keeps one nft rule per ipnat.conf rule. Below a handful, rules stay rules:
  /// they read better and cost nothing measurable.
  public var foldThreshold: Int?
  /// Also work out what a load record keeps of the file (``SourceFacts``).
  public var recordsSourceFacts = false

  public static let defaultFoldThreshold = 8

  /// Fold the two NAT chains at once, on two threads, when they hold this many rules together:
  /// below a few thousand, a thread costs more than it saves. Tests move it to run both ways.
  var foldsOnTwoThreadsFrom = 4096

  public init(tableName: String = "ipnat", interfaceMap: [String: String] = [:], reflection: Bool = false,
              target: OutputCapabilities = .full, foldThreshold: Int? = LoweringOptions.defaultFoldThreshold) {
    self.tableName = tableName
    self.interfaceMap = interfaceMap
    self.reflection = reflection
    self.target = target
    self.foldThreshold = foldThreshold
  }

  /// Why `name` cannot name the table, or `nil` if it can. nft reads table names as
  /// identifiers, and keywords such as `filter` or `nat` would not parse.
  public static func problem(withTableName name: String) -> String? {
    guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 255 else {
      return "a table name must have 1 to 255 characters"
    }
    guard first.properties.isAlphabetic, first.isASCII,
      name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") })
    else { return "a table name must start with a letter and contain only letters, digits and '_'" }
    if NFTKeywords.contains(name.lowercased()) { return "'\(name)' is an nft keyword" }
    return nil
  }
}

public struct LoweringResult: Sendable {
  /// The table, or `nil` when there was an error: no partial ruleset is ever produced.
  public var table: Table?
  public var diagnostics: [Diagnostic]
  /// With ``LoweringOptions/recordsSourceFacts``, and a table.
  public var sourceFacts: SourceFacts? = nil
}

/// Words nft's parser reads as keywords, which cannot name a table, chain, map or object even
/// when quoted (nft's parser). Generated names use prefixes and `_` to stay clear.
enum NFTKeywords {
  static func contains(_ word: String) -> Bool { words.contains(word) }

  private static let words: Set<String> = [
    "table", "chain", "rule", "set", "map", "element", "flowtable", "counter", "quota", "limit", "ct",
    "meta", "filter", "nat", "route", "ip", "ip6", "inet", "arp", "bridge", "netdev", "hook", "type",
    "priority", "policy", "accept", "drop", "reject", "return", "jump", "goto", "queue", "log", "snat",
    "dnat", "masquerade", "redirect", "tcp", "udp", "icmp", "th", "fwd", "dup", "mark", "comment",
    "flags", "timeout", "helper", "vmap", "define", "include", "add", "delete", "list", "flush", "monitor",
    "describe", "ether", "vlan", "numgen", "jhash", "symhash", "fib", "socket", "osf", "tproxy", "synproxy",
    "secmark", "exthdr", "rt", "ipsec", "hash", "interval", "constant", "dynamic", "to", "prefix",
  ]
}
