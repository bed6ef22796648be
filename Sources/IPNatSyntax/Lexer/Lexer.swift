import IPNatDiagnostics

/// Turns ipnat.conf bytes into tokens, one at a time, expanding `$variables` as it goes.
///
/// The lexer follows IPFilter's `tools/lexer.c` where it matters to users: newlines are plain
/// white space, `#` starts a comment, quoted words are never keywords, a backslash escapes the
/// next character, and `$name`/`${name}` expand to the variable's value, which is lexed in turn.
/// Unlike IPFilter's lexer it needs no hints from the parser: IPv6 literals are recognised by
/// shape (hex digits, colons and dots that `inet_pton` would accept) wherever they appear.
///
/// The lexer never stops at a problem. It records a diagnostic and yields an `.invalid` token
/// (or the best token it can), so the parser can report every error in one run.
public struct Lexer: Sendable {
  private let bytes: [UInt8]
  private var position = 0
  private var atLineStart = true
  /// Whether this lexer reads the value of a variable, where `$` is an ordinary character.
  private let readsVariableValue: Bool
  private var pending: [Token] = []
  private var pendingIndex = 0
  /// The texts of tokens whose text is not the input at their range (``Token/storedText``), and
  /// the names of the variables that produced tokens. Few tokens need one.
  private var storedTexts: [String] = []

  public private(set) var variables: VariableTable
  public private(set) var diagnostics: [Diagnostic] = []
  /// How many of `diagnostics` are errors, kept as they are recorded (the parser asks often).
  public private(set) var errorCount = 0
  public private(set) var comments: [Comment] = []
  /// Every `$name` reference expanded, with the text it expanded to.
  public private(set) var expansions: [VariableExpansion] = []

  public init(bytes: [UInt8], variables: VariableTable = VariableTable()) {
    self.bytes = bytes
    self.variables = variables
    self.readsVariableValue = false
  }

  /// A lexer over the fully expanded value of a variable. `$` is an ordinary character here:
  /// after expansion the only `$` left is a literal one, written `$$` in the definition.
  private init(expandedValue: String) {
    self.bytes = Array(expandedValue.utf8)
    self.variables = VariableTable()
    self.readsVariableValue = true
  }

  /// A token's text: quotes removed and backslash escapes applied.
  public func text(of token: Token) -> String {
    if let stored = token.storedText { return storedTexts[stored] }
    return withSpelling(of: token) { String(decoding: $0, as: UTF8.self) }
  }

  /// Calls `body` with a token's text as UTF-8 bytes, read in place when they are the input's.
  public func withSpelling<Result>(of token: Token, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
    if let stored = token.storedText {
      var text = storedTexts[stored]
      return text.withUTF8(body)
    }
    return bytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[token.range.start..<token.range.end])) }
  }

  /// The address an `.ipv6` token spells, read again from its text: the lexer made the token
  /// only of text that reads as one, and IPv6 literals are few.
  public func ipv6Value(of token: Token) -> UInt128 {
    guard let value = IPAddress.parseIPv6(Substring(text(of: token))) else {
      preconditionFailure("an .ipv6 token whose text is no IPv6 address")
    }
    return value
  }

  /// The variable whose value produced the token, if any.
  public func variable(of token: Token) -> String? { token.storedVariable.map { storedTexts[$0] } }

  /// How the token is described in messages: `'map'`, `end of file`.
  public func quotedForMessage(_ token: Token) -> String {
    switch token.kind {
    case .endOfFile: "end of file"
    case .quoted: "\"\(text(of: token).abbreviated)\""
    default: "'\(text(of: token).abbreviated)'"
    }
  }

  /// Defines (or redefines) a variable for the tokens lexed from now on.
  public mutating func define(_ name: String, value: String, at range: SourceRange?) {
    variables.define(name, value: value, at: range)
  }

  // MARK: - Tokens

  public mutating func next() -> Token {
    if pendingIndex < pending.count { return nextPending() }
    skipTrivia()
    let startsLine = atLineStart
    atLineStart = false
    guard position < bytes.count else {
      var end = Token(.endOfFile, range: range(from: bytes.count))
      end.startsLine = true
      return end
    }
    var token = lexToken()
    token.startsLine = startsLine
    return token
  }

  /// The next token of a variable's value being expanded.
  private mutating func nextPending() -> Token {
    defer {
      pendingIndex += 1
      if pendingIndex == pending.count { pending.removeAll(keepingCapacity: true); pendingIndex = 0 }
    }
    return pending[pendingIndex]
  }

  /// Keeps `text` for a token whose text is not the input at its range.
  private mutating func store(_ text: String) -> Int {
    storedTexts.append(text)
    return storedTexts.count - 1
  }

  /// Lets go of the stored texts that no token holds any more, once there are many of them: a
  /// large file may quote a name or use a variable in every rule. The parser calls it between
  /// statements, where it holds no tokens but `current` and `lookahead`; those, and the tokens
  /// of a value still to come, keep their texts, renumbered.
  mutating func forgetStoredTexts(keeping current: inout Token, _ lookahead: inout Token?) {
    guard storedTexts.count >= 256 else { return }
    var kept: [String] = []
    func keep(_ token: inout Token) {
      if let text = token.storedText {
        kept.append(storedTexts[text])
        token.storedText = kept.count - 1
      }
      if let variable = token.storedVariable {
        kept.append(storedTexts[variable])
        token.storedVariable = kept.count - 1
      }
    }
    keep(&current)
    if lookahead != nil { keep(&lookahead!) }
    for index in pending.indices where index >= pendingIndex { keep(&pending[index]) }
    storedTexts = kept
  }

  private mutating func lexToken() -> Token {
    let start = position
    let byte = bytes[position]
    switch byte {
    case UInt8(ascii: "\""), UInt8(ascii: "'"):
      return lexQuoted()
    case UInt8(ascii: "$") where !readsVariableValue:
      return lexVariableReference()
    case UInt8(ascii: "0")...UInt8(ascii: "9"):
      return lexDecimalOrDotted() ?? lexIPv6() ?? lexNumber()
    case UInt8(ascii: ":"):
      return lexIPv6() ?? punctuation(.colon, length: 1)
    case UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"):
      return lexIPv6() ?? lexWord(from: start)
    case UInt8(ascii: "-"):
      return peek(1) == UInt8(ascii: ">") ? punctuation(.arrow, length: 2) : punctuation(.minus, length: 1)
    case UInt8(ascii: "!"):
      return peek(1) == UInt8(ascii: "=") ? punctuation(.notEquals, length: 2) : punctuation(.bang, length: 1)
    case UInt8(ascii: "<"):
      if peek(1) == UInt8(ascii: "=") { return punctuation(.lessOrEqual, length: 2) }
      if peek(1) == UInt8(ascii: ">") { return punctuation(.outsideRange, length: 2) }
      return punctuation(.less, length: 1)
    case UInt8(ascii: ">"):
      if peek(1) == UInt8(ascii: "=") { return punctuation(.greaterOrEqual, length: 2) }
      if peek(1) == UInt8(ascii: "<") { return punctuation(.insideRange, length: 2) }
      return punctuation(.greater, length: 1)
    default:
      if let single = Lexer.singleCharacterPunctuation[Int(byte)] { return punctuation(single, length: 1) }
      if Lexer.isControl(byte) { return lexInvalidCharacter() }
      return lexWord(from: start)
    }
  }

  /// Indexed by byte: every address has a `/` or a `.` to look up, and indexing costs less than
  /// hashing.
  private static let singleCharacterPunctuation: [Punctuation?] = {
    var table = [Punctuation?](repeating: nil, count: 256)
    let pairs: [(Character, Punctuation)] = [
      (",", .comma), ("/", .slash), (";", .semicolon), ("=", .equals), (".", .dot), ("{", .openBrace),
      ("}", .closeBrace), ("(", .openParenthesis), (")", .closeParenthesis), ("@", .at),
    ]
    for (character, punctuation) in pairs { table[Int(character.asciiValue!)] = punctuation }
    return table
  }()

  private mutating func punctuation(_ kind: Punctuation, length: Int) -> Token {
    let start = position
    position += length
    return Token(.punctuation(kind), range: range(from: start))
  }

  // MARK: - Trivia

  private mutating func skipTrivia() {
    while position < bytes.count {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\n") {
        atLineStart = true
        position += 1
      } else if Lexer.isBlank(byte) {
        position += 1
      } else if byte == UInt8(ascii: "\\"), let length = lineBreakLength(at: position + 1) {
        // Backslash-newline is a harmless continuation: plain white space.
        position += 1 + length
      } else if byte == UInt8(ascii: "#") {
        skipComment()
      } else {
        return
      }
    }
  }

  private mutating func skipComment() {
    let start = position
    while position < bytes.count, bytes[position] != UInt8(ascii: "\n") { position += 1 }
    if !readsVariableValue {
      let text = String(decoding: bytes[start..<position], as: UTF8.self)
      comments.append(Comment(text: text, range: range(from: start)))
    }
  }

  private func lineBreakLength(at offset: Int) -> Int? {
    guard offset < bytes.count else { return nil }
    if bytes[offset] == UInt8(ascii: "\n") { return 1 }
    if bytes[offset] == UInt8(ascii: "\r"), offset + 1 < bytes.count, bytes[offset + 1] == UInt8(ascii: "\n") {
      return 2
    }
    return nil
  }

  // MARK: - Words, numbers and literals

  /// A word runs until white space or a character that IPFilter's lexer breaks words at.
  /// `-` belongs to the word (`map-block`, `br-lan`, `ipv6-icmp`) unless it starts `->`.
  private mutating func lexWord(from start: Int) -> Token {
    // Most words are plain bytes to their end, skipped in one tight loop; the loop below decides
    // about the rest (`\`, `-`, `$`, and where the word ends).
    while position < bytes.count, Lexer.plainWordBytes.contains(bytes[position]) { position += 1 }
    // Most words have no backslash, and their text is their bytes as they stand; only a word
    // with one is copied, escapes resolved.
    var unescaped: [UInt8]?
    var escaped = false
    while position < bytes.count {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\\") {
        guard position + 1 < bytes.count, lineBreakLength(at: position + 1) == nil else { break }
        if position == start { escaped = true }
        if unescaped == nil { unescaped = Array(bytes[start..<position]) }
        unescaped!.append(bytes[position + 1])
        position += 2
        continue
      }
      guard isWordByte(byte) else { break }
      if byte == UInt8(ascii: "-"), peek(1) == UInt8(ascii: ">") { break }
      unescaped?.append(byte)
      position += 1
    }
    if (unescaped?.count ?? position - start) == 0 {
      // A lone backslash at the end of input.
      position = max(position, start + 1)
      return invalid(from: start, .error("lex.invalid-character", "a backslash must be followed by a character",
                                         at: range(from: start)))
    }
    guard let unescaped else { return Token(.word, range: range(from: start), keyword: keyword(at: start..<position)) }
    let word = decodeUTF8(unescaped[...], from: start)
    // `\any` is the plain word "any": a leading backslash suppresses keyword recognition.
    return Token(.word, range: range(from: start), keyword: escaped ? nil : Keyword(spelling: word), storedText: store(word))
  }

  private func isWordByte(_ byte: UInt8) -> Bool {
    if Lexer.isBlank(byte) || byte == UInt8(ascii: "\n") || Lexer.isControl(byte) { return false }
    if byte == UInt8(ascii: "$") { return readsVariableValue }
    return !Lexer.wordBreakers.contains(byte)
  }

  private static let wordBreakers = ByteSet("#\"'=,/;{}()@!:<>".utf8)

  /// Bytes that continue a word whatever comes next: not `\`, `-` or `$`, which need a look
  /// around, and none that ends a word.
  private static let plainWordBytes = ByteSet((0...255).filter { (byte: UInt8) in
    !isBlank(byte) && byte != UInt8(ascii: "\n") && !isControl(byte) && !wordBreakers.contains(byte)
      && byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "-") && byte != UInt8(ascii: "$")
  })

  /// A run of digits and dots that is a whole token: nearly every number and address, read in
  /// one pass. `nil`, with nothing consumed, when the run goes on into a hex number, an IPv6
  /// literal or a word, which the general readers below sort out.
  private mutating func lexDecimalOrDotted() -> Token? {
    var end = position
    var kind = Token.Kind.number
    while end < bytes.count {
      let byte = bytes[end]
      if Lexer.isDigit(byte) {
        end += 1
      } else if byte == UInt8(ascii: ".") {
        kind = .dotted
        end += 1
      } else if Lexer.isBlank(byte) || byte == UInt8(ascii: "\n") || Lexer.numberEnders.contains(byte) {
        break
      } else {
        return nil
      }
    }
    let start = position
    position = end
    return Token(kind, range: range(from: start))
  }

  /// Bytes that end a number and start a token of their own (`/24`, `80,`, `1-2`): those that
  /// break words, and `-`. Not `:`, which may go on into an IPv6 literal.
  private static let numberEnders = ByteSet((0...255).filter { (byte: UInt8) in
    (wordBreakers.contains(byte) && byte != UInt8(ascii: ":")) || byte == UInt8(ascii: "-")
  })

  /// Decimal numbers, `0x` hex numbers and dotted quads. A token that starts with a digit but
  /// runs on into letters (`3com0`) is a word: IPFilter would split it and fail to parse.
  private mutating func lexNumber() -> Token {
    let start = position
    var kind = Token.Kind.number
    if peek(0) == UInt8(ascii: "0"), let x = peek(1), x | 0x20 == UInt8(ascii: "x"), let digit = peek(2),
      Lexer.isHexDigit(digit)
    {
      kind = .hex
      position += 2
      while let byte = peek(0), Lexer.isHexDigit(byte) { position += 1 }
    } else {
      while let byte = peek(0), Lexer.isDigit(byte) || byte == UInt8(ascii: ".") {
        if byte == UInt8(ascii: ".") { kind = .dotted }
        position += 1
      }
    }
    if let byte = peek(0), isWordByte(byte), !Lexer.isPunctuationStart(byte) {
      position = start
      return lexWord(from: start)
    }
    return Token(kind, range: range(from: start))
  }

  /// An IPv6 literal if the run of hex digits, colons and dots here is one, else `nil` with
  /// nothing consumed (so `10000:19999` lexes as number, colon, number).
  private mutating func lexIPv6() -> Token? {
    var end = position
    var hasColon = false
    while end < bytes.count, Lexer.isHexDigit(bytes[end]) || bytes[end] == UInt8(ascii: ":")
      || bytes[end] == UInt8(ascii: ".")
    {
      if bytes[end] == UInt8(ascii: ":") { hasColon = true }
      end += 1
    }
    // Most words here are IPv4 addresses and numbers: without a colon there is nothing to try.
    guard hasColon else { return nil }
    let text = bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[position..<end]), as: UTF8.self) }
    guard IPAddress.parseIPv6(Substring(text)) != nil else { return nil }
    let start = position
    position = end
    return Token(.ipv6, range: range(from: start))
  }

  /// `"…"` or `'…'`: newlines inside become spaces, a backslash escapes the next character and
  /// backslash-newline disappears, as in IPFilter.
  private mutating func lexQuoted() -> Token {
    let start = position
    let quote = bytes[position]
    position += 1
    var text: [UInt8] = []
    while position < bytes.count, bytes[position] != quote {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\\"), position + 1 < bytes.count {
        if let length = lineBreakLength(at: position + 1) {
          position += 1 + length
        } else {
          text.append(bytes[position + 1])
          position += 2
        }
        continue
      }
      if byte == UInt8(ascii: "\n") { atLineStart = false }
      text.append(byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") ? UInt8(ascii: " ") : byte)
      position += 1
    }
    guard position < bytes.count else {
      return invalid(from: start, .error("lex.unterminated-string", "unterminated quoted string",
                                         at: SourceRange(start: start, end: start + 1),
                                         notes: [Note("the string starts here and runs to the end of the file")]))
    }
    position += 1
    if text.contains(0) {
      return invalid(from: start, .error("lex.invalid-character", "a quoted string may not contain a NUL byte",
                                         at: range(from: start)))
    }
    let decoded = decodeUTF8(text[...], from: start)
    return Token(.quoted, range: range(from: start), storedText: store(decoded))
  }

  private mutating func lexInvalidCharacter() -> Token {
    let start = position
    let byte = bytes[position]
    position += 1
    let name = byte == 0 ? "a NUL byte" : "control character U+\(String(format4Hex: byte))"
    return invalid(from: start, .error("lex.invalid-character", "unexpected \(name)", at: range(from: start)))
  }

  // MARK: - Variables

  /// `$name` or `${name}`: the variable's value, expanded recursively, is lexed and its tokens
  /// are returned one by one, all pointing at the reference.
  private mutating func lexVariableReference() -> Token {
    let start = position
    position += 1
    let braced = peek(0) == UInt8(ascii: "{")
    if braced { position += 1 }
    let nameStart = position
    if let first = peek(0), Lexer.isLetter(first) {
      while let byte = peek(0), Lexer.isLetter(byte) || Lexer.isDigit(byte) || byte == UInt8(ascii: "_") {
        position += 1
      }
    }
    let name = String(decoding: bytes[nameStart..<position], as: UTF8.self)
    if braced {
      if peek(0) == UInt8(ascii: "}") {
        position += 1
      } else {
        return invalid(from: start, .error("lex.variable-syntax", "expected '}' to close '${\(name)'",
                                           at: range(from: start)))
      }
    }
    // IPFilter splices the value into its input, so word characters written right after the
    // reference join the expansion: with `if = "le"`, `${if}0` is the interface `le0`.
    let suffixStart = position
    while let byte = peek(0), isWordByte(byte), byte != UInt8(ascii: "\\"),
      !(byte == UInt8(ascii: "-") && peek(1) == UInt8(ascii: ">"))
    {
      position += 1
    }
    let suffix = String(decoding: bytes[suffixStart..<position], as: UTF8.self)
    let reference = range(from: start)
    guard !name.isEmpty else {
      return invalid(from: start, .error("lex.variable-syntax", "expected a variable name after '$'",
                                         at: reference))
    }
    switch variables.expand(name, at: reference) {
    case .failure(let diagnostic):
      record(diagnostic)
      // Still a use of the variable: lint must not call it (and the chain it heads) unused.
      expansions.append(VariableExpansion(name: name, value: nil, range: reference))
      // IPFilter lexes an unknown `$name` as a plain word; keeping it lets parsing go on.
      return Token(.word, range: reference, storedText: store("$" + name))
    case .success(let value):
      expansions.append(VariableExpansion(name: name, value: value + suffix, range: reference))
      var valueLexer = Lexer(expandedValue: value + suffix)
      var tokens: [Token] = []
      let variable = store(name)
      while true {
        var token = valueLexer.next()
        if token.kind == .endOfFile { break }
        // A token of the value points at the reference, where the user can see it, and keeps
        // its text here: the value's lexer, and its input, go.
        token.storedText = store(valueLexer.text(of: token))
        token.range = reference
        token.storedVariable = variable
        tokens.append(token)
      }
      for diagnostic in valueLexer.diagnostics {
        var relocated = diagnostic
        relocated.range = reference
        relocated.notes.append(Note("in the value of variable '\(name)'", at: variables.definitionRange(of: name)))
        record(relocated)
      }
      guard let first = tokens.first else {
        record(.error("lex.empty-variable", "variable '\(name)' has an empty value", at: reference,
                                  notes: definitionNote(name)))
        return Token(.invalid, range: reference, storedText: store("$" + name))
      }
      pending = Array(tokens.dropFirst())
      pendingIndex = 0
      return first
    }
  }

  private func definitionNote(_ name: String) -> [Note] {
    variables.definitionRange(of: name).map { [Note("'\(name)' is defined here", at: $0)] } ?? []
  }

  // MARK: - Helpers

  private mutating func record(_ diagnostic: Diagnostic) {
    diagnostics.append(diagnostic)
    if diagnostic.severity == .error { errorCount += 1 }
  }

  private mutating func invalid(from start: Int, _ diagnostic: Diagnostic) -> Token {
    record(diagnostic)
    if position <= start { position = start + 1 }
    return Token(.invalid, range: range(from: start))
  }

  /// The keyword the word at `range` of the input spells, read in place. A word that is not
  /// ASCII spells none, but must be valid UTF-8: decoding it checks that (its text is decoded
  /// again, the same way, when it is read).
  private mutating func keyword(at range: Range<Int>) -> Keyword? {
    let (isASCII, keyword) = bytes.withUnsafeBufferPointer { input in
      let word = UnsafeBufferPointer(rebasing: input[range])
      return (word.allSatisfy { $0 < 0x80 }, Keyword(spelling: word))
    }
    if !isASCII { _ = decodeUTF8(bytes[range], from: range.lowerBound) }
    return keyword
  }

  private mutating func decodeUTF8(_ text: ArraySlice<UInt8>, from start: Int) -> String {
    // ASCII, nearly every word: nothing to validate, and the fast way to make a String.
    if text.allSatisfy({ $0 < 0x80 }) { return String(decoding: text, as: UTF8.self) }
    if let valid = String(validating: text, as: UTF8.self) { return valid }
    record(.error("lex.invalid-utf8", "invalid UTF-8 in a word", at: range(from: start)))
    return String(decoding: text, as: UTF8.self)
  }

  private func peek(_ offset: Int) -> UInt8? {
    position + offset < bytes.count ? bytes[position + offset] : nil
  }

  private func range(from start: Int) -> SourceRange { SourceRange(start: start, end: position) }

  private static func isBlank(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") || byte == 0x0B
      || byte == 0x0C
  }
  private static func isControl(_ byte: UInt8) -> Bool { (byte < 0x20 && byte != 0x09) || byte == 0x7F }
  static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
  private static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }
  private static func isHexDigit(_ byte: UInt8) -> Bool {
    isDigit(byte) || ((byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "f"))
  }
  private static func isPunctuationStart(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
  }
}

extension String {
  init(format4Hex byte: UInt8) {
    let digits = String(byte, radix: 16, uppercase: true)
    self = String(repeating: "0", count: 4 - digits.count) + digits
  }
}

/// A `$name` reference and what it expanded to, so that errors inside the value can say so.
public struct VariableExpansion: Sendable, Hashable {
  public var name: String
  /// `nil` when the reference could not be expanded (undefined, cyclic, too deep, too long).
  public var value: String?
  public var range: SourceRange
}
