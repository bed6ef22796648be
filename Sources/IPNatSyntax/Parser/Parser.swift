import IPNatDiagnostics

// # How this parser reads
//
// ipnat.conf is parsed by hand, one function per production of `Grammar/ipnat.ebnf`. Each
// `parseX` function's doc comment quotes its production, so the two can be read side by side.
//
// Conventions:
//
// - `current` is the next unconsumed token; `peek()` looks one token further. Functions that
//   consume tokens are `mutating`; predicates (`at(_:)`) are not.
// - The token vocabulary: `at(_:)` tests without consuming, `take(_:)` consumes if present and
//   returns the token (or `nil`), `expect(_:_:)` consumes or reports "expected …" and throws.
// - A *syntax* error inside a rule throws ``ParseAbort`` after recording its diagnostic. The
//   statement loop catches it, skips to the next place a statement can start (a `;`, or a rule
//   keyword at the start of a line: newlines do not end rules, but people write one rule per
//   line) and carries on, so one run reports every error in the file, up to a cap.
// - A *semantic* error (an address family mismatch, a port above 65535, an unknown service)
//   is recorded without throwing: the rule is still parsed to its end, then dropped.
// - Every loop consumes at least one token per iteration or ends.
// - Facts about a rule that IPFilter's grammar tracks in globals (the family decided so far,
//   whether the `port` keyword was used) live in ``RuleContext``, reset for every rule.

/// Options that change what a file means or how parsing reports problems.
public struct ParseOptions: Sendable {
  /// See ``maximumRules``.
  public static let defaultMaximumRules = 1_000_000
  /// Resolves host names; ``RefusingHostResolver`` implements `--no-resolve`.
  public var hostResolver: any HostResolver
  /// Variables defined before the file is read (`IPNAT_PREDEFINED`, then `-D`).
  public var predefinedVariables: [(name: String, value: String)]
  /// Parsing stops after this many errors.
  public var maximumErrors: Int
  /// The most rules a file may hold. Past it the file is refused with an error, before its
  /// rules can exhaust memory: 1,000,000 rules compile in about 7 s and 650 MB on the
  /// benchmarks' machine, in time and memory linear in the rules; a file with more is a
  /// generator gone wrong, or needs `--max-rules`.
  public var maximumRules: Int
  /// Whether names missing from the built-in tables are looked up in `/etc/services` and
  /// `/etc/protocols`.
  public var useSystemDatabases: Bool

  public init(
    hostResolver: any HostResolver = SystemHostResolver(),
    predefinedVariables: [(name: String, value: String)] = [],
    maximumErrors: Int = 50,
    maximumRules: Int = ParseOptions.defaultMaximumRules,
    useSystemDatabases: Bool = true
  ) {
    self.hostResolver = hostResolver
    self.predefinedVariables = predefinedVariables
    self.maximumErrors = maximumErrors
    self.maximumRules = maximumRules
    self.useSystemDatabases = useSystemDatabases
  }
}

/// What parsing a file produced: the rules that parsed cleanly and every diagnostic, in
/// source order. A rule with an error is not in `config`.
public struct ParseResult: Sendable {
  public var config: Config
  public var diagnostics: [Diagnostic]
  /// The variables defined when the file ended, with where each was defined.
  public var variables: VariableTable
  /// Every `$name` in the file's statements, in order (not those inside variable values).
  public var variableReferences: [VariableExpansion]
}

/// Thrown after a syntax error has been recorded, to unwind to the statement loop.
struct ParseAbort: Error {}

/// Per-rule state, the counterpart of the globals IPFilter's yacc actions share.
struct RuleContext {
  /// `inet` or `inet6` written after the interfaces.
  var explicitFamily: Located<IPFamily>?
  /// The first address or mask that implied a family, if no keyword gave one.
  var impliedFamily: Located<IPFamily>?
  /// IPFilter's `suggest_port`: the `port` keyword makes a rule without a protocol tcp/udp.
  var usedPortKeyword = false
  var insideFromTo = false
  let errorsAtStart: Int

  /// The family as far as the rule has been read, for resolving host names.
  var familySoFar: IPFamily? { explicitFamily?.value ?? impliedFamily?.value }
}

public struct Parser {
  var lexer: Lexer
  var current: Token
  var lookahead: Token?
  /// The end offset of the last consumed token: the end of whatever is being built.
  private(set) var previousEnd = 0
  var diagnostics: [Diagnostic] = []
  private var parserErrorCount = 0
  let options: ParseOptions
  var context: RuleContext

  /// Parses a whole file.
  public static func parse(_ file: SourceFile, options: ParseOptions = ParseOptions()) -> ParseResult {
    var parser = Parser(file: file, options: options)
    let statements = parser.parseConfig()
    return parser.finish(statements)
  }

  /// Parses a whole file, and hands each rule to `takeRule` as soon as it is read, in file
  /// order, instead of keeping it: the result's `config` holds the other statements only. A
  /// rule with an error is not handed on. A compiler lowers each rule as it comes, so that a
  /// large file's syntax tree is never whole in memory.
  public static func parse(_ file: SourceFile, options: ParseOptions = ParseOptions(),
                           handingRulesTo takeRule: (Rule) -> Void) -> ParseResult {
    var parser = Parser(file: file, options: options)
    // The parser keeps no reference to `takeRule` once parseConfig returns.
    let statements = withoutActuallyEscaping(takeRule) { parser.parseConfig(handingRulesTo: $0) }
    return parser.finish(statements)
  }

  private init(file: SourceFile, options: ParseOptions) {
    var variables = VariableTable()
    for (name, value) in options.predefinedVariables { variables.define(name, value: value, at: nil) }
    lexer = Lexer(bytes: file.bytes, variables: variables)
    current = lexer.next()
    self.options = options
    context = RuleContext(errorsAtStart: 0)
  }

  private func finish(_ statements: [Statement]) -> ParseResult {
    let expansions = Dictionary(lexer.expansions.map { ($0.range, $0) }, uniquingKeysWith: { first, _ in first })
    let annotated = (diagnostics + lexer.diagnostics).map { diagnostic in
      var diagnostic = diagnostic
      if let range = diagnostic.range, let expansion = expansions[range], let value = expansion.value,
        !diagnostic.notes.contains(where: { $0.message.contains("variable '\(expansion.name)'") })
      {
        diagnostic.notes.append(Note("'$\(expansion.name)' expands to '\(value)' (variable '\(expansion.name)')",
                                     at: lexer.variables.definitionRange(of: expansion.name)))
      }
      return diagnostic
    }
    return ParseResult(
      config: Config(statements: statements, comments: lexer.comments), diagnostics: annotated.sortedBySource(),
      variables: lexer.variables, variableReferences: lexer.expansions)
  }

  /// Errors so far, from the parser and the lexer; checked at every statement, so counted
  /// as they are recorded rather than by scanning.
  var errorCount: Int { parserErrorCount + lexer.errorCount }

  // MARK: - Tokens

  /// A token's text (``Lexer/text(of:)``).
  func text(_ token: Token) -> String { lexer.text(of: token) }

  func at(_ keyword: Keyword) -> Bool { current.is(keyword) }
  func at(_ punctuation: Punctuation) -> Bool { current.is(punctuation) }
  var atEnd: Bool { current.kind == .endOfFile }

  /// The token after `current`, without consuming anything.
  mutating func peek() -> Token {
    if let lookahead { return lookahead }
    let next = lexer.next()
    lookahead = next
    return next
  }

  @discardableResult
  mutating func advance() -> Token {
    if current.kind != .endOfFile { previousEnd = current.range.end }
    // Moved, not copied: the parser advances past every token of the file.
    var consumed = lookahead.take() ?? lexer.next()
    swap(&current, &consumed)
    return consumed
  }

  /// Consumes `keyword` if it is next, and says whether it was: `take(_:) != nil` without an
  /// optional token to make and destroy, which a generic comparison does slowly.
  mutating func skip(_ keyword: Keyword) -> Bool {
    guard at(keyword) else { return false }
    advance()
    return true
  }

  mutating func skip(_ punctuation: Punctuation) -> Bool {
    guard at(punctuation) else { return false }
    advance()
    return true
  }

  @discardableResult
  mutating func take(_ keyword: Keyword) -> Token? { at(keyword) ? advance() : nil }
  @discardableResult
  mutating func take(_ punctuation: Punctuation) -> Token? { at(punctuation) ? advance() : nil }

  @discardableResult
  mutating func expect(_ keyword: Keyword, _ context: String) throws -> Token {
    if let token = take(keyword) { return token }
    throw abort(expected: "'\(keyword.rawValue)' \(context)")
  }

  @discardableResult
  mutating func expect(_ punctuation: Punctuation, _ context: String) throws -> Token {
    if let token = take(punctuation) { return token }
    throw abort(expected: "'\(punctuation.rawValue)' \(context)")
  }

  /// Records "expected X, found Y" at the current token and returns the error to throw.
  mutating func abort(expected what: String, notes: [Note] = []) -> ParseAbort {
    if current.kind != .invalid {  // the lexer already explained an invalid token
      report(.error("parse.expected", "expected \(what), found \(lexer.quotedForMessage(current))", at: current.range,
                    notes: notes + variableNotes(for: current)))
    }
    return ParseAbort()
  }

  /// The range from `start` to the end of the last consumed token.
  func range(from start: Int) -> SourceRange { SourceRange(start: start, end: max(start, previousEnd)) }

  // MARK: - Diagnostics

  /// Records a diagnostic. One error per place is enough: a number too large to read is not
  /// also reported as an out-of-range port.
  mutating func report(_ diagnostic: Diagnostic) {
    if diagnostic.severity == .error, let range = diagnostic.range,
      diagnostics.contains(where: { $0.severity == .error && $0.range == range })
    {
      return
    }
    diagnostics.append(diagnostic)
    if diagnostic.severity == .error { parserErrorCount += 1 }
  }

  mutating func error(_ id: DiagnosticID, _ message: String, at range: SourceRange, notes: [Note] = []) {
    report(.error(id, message, at: range, notes: notes))
  }

  mutating func warning(_ id: DiagnosticID, _ message: String, at range: SourceRange, notes: [Note] = []) {
    report(.warning(id, message, at: range, notes: notes))
  }

  /// A note pointing at the definition of the variable a token came from.
  func variableNotes(for token: Token) -> [Note] {
    guard let name = lexer.variable(of: token) else { return [] }
    return [Note("'\(text(token).abbreviated)' comes from the value of variable '\(name)'",
                 at: lexer.variables.definitionRange(of: name))]
  }

  // MARK: - Recovery

  /// Skips to where the next statement can start: after a `;`, or before a statement keyword
  /// that begins a line.
  mutating func recover() {
    while !atEnd {
      if skip(.semicolon) { return }
      if current.startsLine, current.keyword?.startsStatement == true { return }
      if current.startsLine, current.isName, peek().is(.equals) { return }
      advance()
    }
  }
}
