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

/// One token. Tokens are plain values, copied without reference counting: the parser handles
/// every token of a file several times. A token's text is read from the lexer
/// (``Lexer/text(of:)``) only where the parser needs it, mostly for names.
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
    /// An IPv6 literal, already validated; ``Lexer/ipv6Value(of:)`` reads its value. The value
    /// is not kept in the token: a 128-bit payload made every token 64 bytes, aligned to 16,
    /// and the parser copies and compares tokens all the time.
    case ipv6
    case punctuation(Punctuation)
    /// Input the lexer could not make sense of; it has already reported a diagnostic.
    case invalid
    case endOfFile
  }

  public var kind: Kind
  /// Where the token is. Tokens that come from a variable's value carry the range of the
  /// `$name` reference, because that is where the user can see them.
  public var range: SourceRange
  /// The keyword this bare word spells (case-insensitively), if any.
  public var keyword: Keyword?
  /// Whether the token is the first on its line; error recovery resynchronises there.
  public var startsLine: Bool
  /// The token's text among the lexer's stored texts, when it is not simply the input at
  /// `range`: a quoted string, a word with a backslash escape, a token of a variable's value.
  var storedText: Int? {
    get { Self.index(packedStoredText) }
    set { packedStoredText = Self.packed(newValue) }
  }
  /// The name of the variable whose value produced this token, among the lexer's stored texts.
  var storedVariable: Int? {
    get { Self.index(packedStoredVariable) }
    set { packedStoredVariable = Self.packed(newValue) }
  }
  // Kept in 32 bits each, `UInt32.max` for none, as the range is: a token is 24 bytes, not 48.
  // The lexer lets go of its stored texts every few hundred (`forgetStoredTexts`), so an
  // index stays small.
  private var packedStoredText = UInt32.max
  private var packedStoredVariable = UInt32.max

  private static func index(_ packed: UInt32) -> Int? { packed == .max ? nil : Int(packed) }
  private static func packed(_ index: Int?) -> UInt32 { index.map { UInt32($0) } ?? .max }

  init(_ kind: Kind, range: SourceRange, keyword: Keyword? = nil, storedText: Int? = nil) {
    self.kind = kind
    self.range = range
    self.keyword = keyword
    self.startsLine = false
    self.storedText = storedText
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
