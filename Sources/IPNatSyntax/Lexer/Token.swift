import IPNatDiagnostics

/// Punctuation and operators of ipnat.conf (`tools/lexer.c` in IPFilter).
public enum Punctuation: String, Sendable, Hashable, CaseIterable {
  case arrow = "->"
  case minus = "-"
  case comma = ","
  case slash = "/"
  case semicolon = ";"
  case equals = "="
  case notEquals = "!="
  case bang = "!"
  case less = "<"
  case lessOrEqual = "<="
  case greater = ">"
  case greaterOrEqual = ">="
  case outsideRange = "<>"
  case insideRange = "><"
  case colon = ":"
  case dot = "."
  case openBrace = "{"
  case closeBrace = "}"
  case openParenthesis = "("
  case closeParenthesis = ")"
  case at = "@"
}

/// One token. Tokens are values; the parser holds at most two of them at a time.
public struct Token: Sendable, Hashable {
  public enum Kind: Sendable, Hashable {
    /// A bare word: an interface, host, service or protocol name, or a keyword.
    case word
    /// A quoted string: a word that is never a keyword.
    case quoted
    /// Decimal digits.
    case number
    /// `0x` followed by hex digits (only meaningful as an IPv4 netmask).
    case hex
    /// Digits and dots, such as `192.168.0.1`; the parser checks that it is a valid IPv4 address.
    case dotted
    /// An IPv6 literal, already validated and converted.
    case ipv6(UInt128)
    case punctuation(Punctuation)
    /// Input the lexer could not make sense of; it has already reported a diagnostic.
    case invalid
    case endOfFile
  }

  public var kind: Kind
  /// The token's text with quotes removed and backslash escapes applied.
  public var text: String
  /// Where the token is. Tokens that come from a variable's value carry the range of the
  /// `$name` reference, because that is where the user can see them.
  public var range: SourceRange
  /// The keyword this bare word spells (case-insensitively), if any.
  public var keyword: Keyword?
  /// Whether the token is the first on its line; error recovery resynchronises there.
  public var startsLine: Bool
  /// The variable whose value produced this token, if any.
  public var variable: String?

  public init(
    _ kind: Kind, text: String, range: SourceRange, keyword: Keyword? = nil, startsLine: Bool = false,
    variable: String? = nil
  ) {
    self.kind = kind
    self.text = text
    self.range = range
    self.keyword = keyword
    self.startsLine = startsLine
    self.variable = variable
  }

  public func `is`(_ keyword: Keyword) -> Bool { self.keyword == keyword }
  public func `is`(_ punctuation: Punctuation) -> Bool { kind == .punctuation(punctuation) }

  /// A word or quoted string that is not a keyword: a name of something.
  public var isName: Bool {
    switch kind {
    case .word: keyword == nil
    case .quoted: true
    default: false
    }
  }

  /// How the token is described in messages: `'map'`, `end of file`.
  public var quotedForMessage: String {
    switch kind {
    case .endOfFile: "end of file"
    case .quoted: "\"\(text.abbreviated)\""
    default: "'\(text.abbreviated)'"
    }
  }
}

extension String {
  /// The text, shortened for a message: a 10 MB word must not become a 10 MB diagnostic.
  public var abbreviated: String {
    guard count > 64 else { return self }
    return String(prefix(60)) + "…"
  }
}

/// A `#` comment. Comments are trivia for the parser but kept for the linter's
/// suppression comments and a future formatter.
public struct Comment: Sendable, Hashable {
  public var text: String
  public var range: SourceRange
}
