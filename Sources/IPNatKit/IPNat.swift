import IPNatDiagnostics
import IPNatLint
import IPNatLowering
import IPNatSyntax
import NFTModel
import NFTText

public typealias LoweringOptions = IPNatLowering.LoweringOptions
public typealias Table = NFTModel.Table
public typealias CompiledSource = NFTModel.CompiledSource

/// Options of the front end that every subcommand shares.
public struct FrontendOptions: Sendable {
  /// `false` for `--no-resolve`: a host name in a rule is then an error, not a DNS lookup.
  public var resolveHostNames: Bool
  /// `-D NAME=VALUE`, in order; they override `IPNAT_PREDEFINED`.
  public var definitions: [(name: String, value: String)]
  /// The value of the `IPNAT_PREDEFINED` environment variable: `name=value;name=value`.
  public var predefined: String?
  /// Resolves host names instead of the system resolver (tests use a fixed table).
  public var hostResolver: (any HostResolver)?
  /// `--max-rules`: past this many rules a file is refused.
  public var maximumRules: Int

  public init(resolveHostNames: Bool = true, definitions: [(name: String, value: String)] = [],
              predefined: String? = nil, maximumRules: Int = ParseOptions.defaultMaximumRules) {
    self.resolveHostNames = resolveHostNames
    self.definitions = definitions
    self.predefined = predefined
    self.maximumRules = maximumRules
  }
}

/// The result of one run of the pipeline: output only when there was no error.
public struct Outcome: Sendable {
  public var output: String?
  public var diagnostics: [Diagnostic]
  public var hasErrors: Bool { diagnostics.hasErrors }
}

/// The output format of `ipnat compile`.
public enum OutputFormat: String, Sendable, CaseIterable {
  /// An `nft -f` script.
  case nft
  /// libnftables JSON, for `nft -j -f`.
  case json

  /// What the format's emitter can express, for the lowering to respect.
  public var capabilities: OutputCapabilities {
    switch self {
    case .nft: ScriptEmitter.capabilities
    case .json: JSONEmitter.capabilities
    }
  }
}

/// The pipeline, one stage per module: read → parse → lower → emit.
public enum IPNat {
  /// `ipnat compile`: the nftables ruleset that replaces ipnat's table, or nothing if any rule
  /// has an error.
  public static func compile(_ file: SourceFile, options: FrontendOptions = FrontendOptions(),
                             lowering: LoweringOptions = LoweringOptions(), format: OutputFormat = .nft,
                             teardown: Teardown = .whenDone) -> Outcome {
    var lowering = lowering
    lowering.target = format.capabilities
    let (table, diagnostics) = lower(file, options: options, lowering: lowering)
    guard let table else { return Outcome(output: nil, diagnostics: diagnostics) }
    let output: String
    switch format {
    case .nft:
      output = ScriptEmitter.script(replacing: table)
      teardown.letGo(of: table)
    case .json:
      // JSON values are about seven times the script: the emitter lets each map go once written.
      output = JSONEmitter.document(replacing: consume table)
    }
    return Outcome(output: output, diagnostics: diagnostics)
  }

  /// The nftables table for a file (the IR that both the emitters and the loader take), or
  /// nil if any rule has an error.
  public static func lower(_ file: SourceFile, options: FrontendOptions = FrontendOptions(),
                           lowering: LoweringOptions = LoweringOptions()) -> (table: Table?, diagnostics: [Diagnostic]) {
    let (_, result, diagnostics) = parseAndLower(file, options: options, lowering: lowering)
    return (result?.table, diagnostics)
  }

  /// The parse and the lowering's result (nil after a syntax error), and the diagnostics of both.
  static func parseAndLower(_ file: SourceFile, options: FrontendOptions, lowering: LoweringOptions)
    -> (parsed: ParseResult, lowered: LoweringResult?, diagnostics: [Diagnostic])
  {
    // Each rule is lowered as soon as it is parsed, and its syntax tree let go: a large file is
    // never whole in memory as a tree. The parser reads on another thread meanwhile
    // (`RuleHandoff`), unless the file is small enough that starting a thread would cost more
    // than it saves. If the file has an error, what was lowered is dropped.
    let handoff = RuleHandoff(threaded: file.bytes.count >= 64 * 1024) { takeRule in
      parse(file, options: options, handingRulesTo: takeRule)
    }
    var lowered = Lowering(file: file, options: lowering)
    let parsed = handoff.receive { lowered.add($0, printedAs: $1) }
    guard !parsed.diagnostics.hasErrors else { return (parsed, nil, parsed.diagnostics) }
    let result = lowered.finish()
    return (parsed, result, parsed.diagnostics + result.diagnostics)
  }

  /// A file lowered twice, two ways, from one parse (its host names are looked up once): both
  /// tables, or nil if any rule has an error, and the diagnostics of the first way, which are
  /// ``lower(_:options:lowering:)``'s.
  public static func lower(_ file: SourceFile, options: FrontendOptions = FrontendOptions(), lowering: LoweringOptions,
                           andLowering otherLowering: LoweringOptions) -> (tables: (Table, Table)?, diagnostics: [Diagnostic]) {
    let parsed = parse(file, options: options)
    guard !parsed.diagnostics.hasErrors else { return (nil, parsed.diagnostics) }
    let first = Lowering.lower(parsed.config, in: file, options: lowering)
    let diagnostics = parsed.diagnostics + first.diagnostics
    guard let table = first.table, let other = Lowering.lower(parsed.config, in: file, options: otherLowering).table else {
      return (nil, diagnostics)
    }
    return ((table, other), diagnostics)
  }

  /// `ipnat print`: every rule in IPFilter's canonical form, or nothing if any error was found.
  public static func printCanonical(_ file: SourceFile, options: FrontendOptions = FrontendOptions()) -> Outcome {
    let parsed = parse(file, options: options)
    guard !parsed.diagnostics.hasErrors else { return Outcome(output: nil, diagnostics: parsed.diagnostics) }
    return Outcome(output: CanonicalPrinter.print(parsed.config), diagnostics: parsed.diagnostics)
  }

  /// Lexes and parses a file with the front end's options applied.
  public static func parse(_ file: SourceFile, options: FrontendOptions = FrontendOptions()) -> ParseResult {
    let (parseOptions, problems) = parseOptions(options)
    var result = Parser.parse(file, options: parseOptions)
    result.diagnostics = problems + result.diagnostics
    return result
  }

  /// Parses a file and hands each rule to `takeRule` as it is read, instead of keeping it in
  /// the result (`Parser.parse(_:options:handingRulesTo:)`).
  static func parse(_ file: SourceFile, options: FrontendOptions, handingRulesTo takeRule: (IPNatSyntax.Rule) -> Void) -> ParseResult {
    let (parseOptions, problems) = parseOptions(options)
    var result = Parser.parse(file, options: parseOptions, handingRulesTo: takeRule)
    result.diagnostics = problems + result.diagnostics
    return result
  }

  private static func parseOptions(_ options: FrontendOptions) -> (ParseOptions, [Diagnostic]) {
    let (predefined, problems) = predefinedVariables(options)
    let parseOptions = ParseOptions(
      hostResolver: options.hostResolver ?? (options.resolveHostNames ? SystemHostResolver() : RefusingHostResolver()),
      predefinedVariables: predefined, maximumRules: options.maximumRules)
    return (parseOptions, problems)
  }

  /// `IPNAT_PREDEFINED` entries, then `-D` definitions (later ones win).
  static func predefinedVariables(_ options: FrontendOptions) -> ([(name: String, value: String)], [Diagnostic]) {
    var variables: [(name: String, value: String)] = []
    var problems: [Diagnostic] = []
    for entry in (options.predefined ?? "").split(separator: ";") where !entry.allSatisfy(\.isWhitespace) {
      guard let definition = Definition(String(entry)) else {
        problems.append(.warning("var.bad-predefined",
                                 "ignoring '\(entry)' in IPNAT_PREDEFINED: expected name=value", at: nil))
        continue
      }
      variables.append((definition.name, definition.value))
    }
    variables += options.definitions
    return (variables, problems)
  }
}

/// `NAME=VALUE`, as given to `-D` or in `IPNAT_PREDEFINED`.
public struct Definition: Sendable, Hashable {
  public var name: String
  public var value: String

  public init?(_ text: String) {
    guard let equals = text.firstIndex(of: "=") else { return nil }
    let name = String(text[..<equals].drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    guard VariableTable.isValidName(name) else { return nil }
    self.name = name
    self.value = String(text[text.index(after: equals)...])
  }
}

extension IPNat {
  /// `ipnat lint`: the parser's and the lowering's diagnostics plus lint's own findings, less
  /// what `--disable` and suppression comments silence. The lowering runs only when the file
  /// parses, so that a syntax error is not followed by noise about the rules around it.
  public static func lint(_ file: SourceFile, options: FrontendOptions = FrontendOptions(),
                          lowering: LoweringOptions = LoweringOptions(), lint: Linter.Options = Linter.Options()) -> [Diagnostic] {
    let parsed = parse(file, options: options)
    // A file past the rule limit is refused whole: findings about the rules before the limit
    // would bury that one error, and cost as much as the limit is there to prevent.
    if parsed.diagnostics.contains(where: { $0.id == ParseDiagnostics.tooManyRules.id }) { return parsed.diagnostics }
    var stageDiagnostics = parsed.diagnostics
    if !parsed.diagnostics.hasErrors {
      stageDiagnostics += Lowering.diagnostics(of: parsed.config, in: file, options: lowering)
    }
    return Linter.review(parsed, in: file, stageDiagnostics: stageDiagnostics, options: lint)
  }
}
