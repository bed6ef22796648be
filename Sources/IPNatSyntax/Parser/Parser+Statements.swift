import IPNatDiagnostics

extension Parser {
  /// ```
  /// config = { statement } ;
  /// ```
  ///
  /// `takeRule`, if given, takes each rule instead of the statements.
  mutating func parseConfig(handingRulesTo takeRule: ((Rule) -> Void)? = nil) -> [Statement] {
    var statements: [Statement] = []
    var ruleCount = 0
    while !atEnd {
      if errorCount >= options.maximumErrors {
        error("parse.too-many-errors", "too many errors (\(options.maximumErrors)); stopping here",
              at: current.range)
        break
      }
      let before = current.range.start
      lexer.forgetStoredTexts(keeping: &current, &lookahead)
      do {
        guard let statement = try parseStatement() else { continue }
        if case .rule = statement {
          ruleCount += 1
          if ruleCount > options.maximumRules {
            error("parse.too-many-rules",
                  "too many rules: ipnat reads at most \(options.maximumRules) rules from one file, and refuses this one",
                  at: statement.range)
            break
          }
          if let takeRule, case .rule(let rule) = statement {
            takeRule(rule)
            continue
          }
        }
        statements.append(statement)
      } catch {
        if current.range.start == before, !atEnd { advance() }
        recover()
      }
    }
    return statements
  }

  /// ```
  /// statement = rule | assignment | dns-proxy-conf ";" ;
  /// rule      = map-rule | mapblock-rule | rdr-rule | rewrite-rule | divert-rule | no-rule ;
  /// ```
  /// Returns `nil` for statements that leave nothing behind (a stray `;`, a rule with errors).
  mutating func parseStatement() throws -> Statement? {
    // Before the lookahead below: lexing the rule's second token (a `$variable` that fails to
    // expand, say) is part of the rule, and an error there must drop it.
    let errorsAtStart = errorCount
    if current.kind == .word || current.kind == .quoted, peek().is(.equals) {
      return try parseAssignment().map(Statement.assignment)
    }
    switch current.keyword {
    case .map, .bimap: return try parseRule(errorsAtStart) { try .map($0.parseMapRule()) }
    case .mapBlock: return try parseRule(errorsAtStart) { try .mapBlock($0.parseMapBlockRule()) }
    case .rdr: return try parseRule(errorsAtStart) { try .rdr($0.parseRdrRule()) }
    case .rewrite: return try parseRule(errorsAtStart) { try .rewrite($0.parseRewriteRule()) }
    case .divert: return try parseRule(errorsAtStart) { try .divert($0.parseDivertRule()) }
    case .no: return try parseRule(errorsAtStart) { try .no($0.parseNoRule()) }
    case .proxy: return try .dnsProxy(parseDNSProxyConfig())
    case .encap:
      error("parse.unsupported-rule", "'encap' rules were removed from IPFilter and are not supported",
            at: current.range)
      throw ParseAbort()
    default: break
    }
    if let semicolon = take(.semicolon) {
      warning("parse.empty-statement", "stray ';' (IPFilter rejects an empty statement)", at: semicolon.range)
      return nil
    }
    throw abort(expected: "a rule (map, bimap, map-block, rdr, rewrite, divert or no) or a variable assignment")
  }

  /// Runs one rule's parse function with a fresh ``RuleContext``; keeps the rule only if
  /// parsing it reported no error.
  private mutating func parseRule(_ errorsAtStart: Int, _ body: (inout Parser) throws -> Rule) throws -> Statement? {
    context = RuleContext(errorsAtStart: errorsAtStart)
    let rule = try body(&self)
    return errorCount == context.errorsAtStart ? .rule(rule) : nil
  }

  /// ```
  /// assignment = word "=" word ";" ;
  /// ```
  /// The value is stored as written and expanded when used (`$name`, `${name}`).
  mutating func parseAssignment() throws -> Assignment? {
    let nameToken = advance()
    let start = nameToken.range.start
    var valid = true
    if let keyword = nameToken.keyword {
      error("parse.keyword-variable", "'\(keyword.rawValue)' is a keyword and cannot name a variable",
            at: nameToken.range)
      valid = false
    } else if !VariableTable.isValidName(text(nameToken)) {
      error("parse.invalid-variable-name",
            "'\(text(nameToken))' is not a valid variable name (a letter, then letters, digits or '_')",
            at: nameToken.range)
      valid = false
    }
    try expect(.equals, "after the variable name")
    let valueToken = current
    switch valueToken.kind {
    case .word, .quoted:
      advance()
    case .number, .dotted, .hex, .ipv6:
      advance()
      report(.error("parse.unquoted-value", "a variable's value must be a word or a quoted string",
                    at: valueToken.range,
                    fixIts: [FixIt("quote the value", replacing: valueToken.range, with: "\"\(text(valueToken))\"")]))
      valid = false
    default:
      throw abort(expected: "the variable's value (a word or a quoted string)")
    }
    // Defined before the `;` is consumed, so that a `$name` right after it sees the value.
    if valid {
      lexer.define(text(nameToken), value: text(valueToken), at: SourceRange(start: start, end: valueToken.range.end))
    }
    try expect(.semicolon, "after the variable's value")
    guard valid else { return nil }
    return Assignment(name: Located(value: text(nameToken), range: nameToken.range),
                      value: Located(value: text(valueToken), range: valueToken.range), range: range(from: start))
  }

  /// ```
  /// dns-proxy-conf = "proxy" "dns" "/" protocol "config" word "{" dns-entry { ";" dns-entry } ";" "}" ";" ;
  /// dns-entry      = ( "allow" | "pass" | "block" | "deny" | "drop" ) [ "." ] word ;
  /// ```
  mutating func parseDNSProxyConfig() throws -> DNSProxyConfig {
    let start = advance().range.start
    guard current.kind == .word, text(current).lowercased() == "dns" else {
      throw abort(expected: "'dns' (the only proxy with a configuration block)")
    }
    advance()
    try expect(.slash, "after 'proxy dns'")
    let protocolClause = try parseProtocol()
    try expect(.config, "after the proxy's protocol")
    let name = try parseName("the configuration's name")
    try expect(.openBrace, "to open the list of names")
    var entries: [DNSProxyConfig.Entry] = []
    repeat {
      entries.append(try parseDNSEntry())
      try expect(.semicolon, "after a name in the list")
    } while !at(.closeBrace) && !atEnd
    try expect(.closeBrace, "to close the list of names")
    try expect(.semicolon, "after the proxy configuration")
    return DNSProxyConfig(protocolClause: protocolClause, name: name, entries: entries, range: range(from: start))
  }

  private mutating func parseDNSEntry() throws -> DNSProxyConfig.Entry {
    let start = current.range.start
    let action: DNSProxyConfig.Entry.Action
    switch current.kind == .word ? text(current).lowercased() : "" {
    case "allow", "pass": action = .allow
    case "block", "deny", "drop": action = .block
    default: throw abort(expected: "'allow', 'pass', 'block', 'deny' or 'drop'")
    }
    advance()
    let dot = skip(.dot) ? "." : ""
    let name = try parseName("a domain name")
    return DNSProxyConfig.Entry(action: action, name: dot + name.value, range: range(from: start))
  }

  /// A word or quoted string naming something (an interface, a tag, a proxy label).
  /// Keywords are accepted only when quoted, as in IPFilter.
  mutating func parseName(_ what: String) throws -> Located<String> {
    guard current.isName else { throw abort(expected: what) }
    let token = advance()
    return Located(value: text(token), range: token.range)
  }
}
