import IPNatDiagnostics
import IPNatSyntax
import Testing

@Suite struct LexerTests {
  func tokens(_ text: String) -> [Token] {
    var lexer = Lexer(bytes: Array(text.utf8))
    var result: [Token] = []
    while true {
      let token = lexer.next()
      if token.kind == .endOfFile { return result }
      result.append(token)
    }
  }

  func kinds(_ text: String) -> [Token.Kind] { tokens(text).map(\.kind) }

  /// The value of each IPv6 literal, as the parser reads it.
  func ipv6Values(_ text: String) -> [UInt128] {
    var lexer = Lexer(bytes: Array(text.utf8))
    var result: [UInt128] = []
    while case let token = lexer.next(), token.kind != .endOfFile {
      if token.kind == .ipv6 { result.append(lexer.ipv6Value(of: token)) }
    }
    return result
  }

  /// Each token's text, as the parser reads it.
  func texts(_ text: String) -> [String] {
    var lexer = Lexer(bytes: Array(text.utf8))
    var result: [String] = []
    while case let token = lexer.next(), token.kind != .endOfFile { result.append(lexer.text(of: token)) }
    return result
  }

  @Test func keywordsAreCaseInsensitiveButQuotedWordsNeverAre() {
    let lexed = tokens("MAP Map-Block \"map\" \\any round-robin")
    #expect(lexed.map(\.keyword) == [.map, .mapBlock, nil, nil, .roundRobin])
    #expect(lexed[2].kind == .quoted)
    #expect(texts("MAP Map-Block \"map\" \\any round-robin")[3] == "any")
  }

  @Test func hyphensJoinWordsButArrowsSplitThem() {
    #expect(texts("br-lan ipv6-icmp") == ["br-lan", "ipv6-icmp"])
    #expect(texts("le0->x") == ["le0", "->", "x"])
    #expect(kinds("80-88") == [.number, .punctuation(.minus), .number])
  }

  @Test func ipv6LiteralsAreRecognisedByShapeNotPortRanges() {
    #expect(kinds("10000:19999") == [.number, .punctuation(.colon), .number])
    #expect(kinds("1:4") == [.number, .punctuation(.colon), .number])
    #expect(kinds("::1") == [.ipv6])
    #expect(ipv6Values("::1") == [1])
    #expect(kinds("fe80::1/64") == [.ipv6, .punctuation(.slash), .number])
    #expect(ipv6Values("fe80::1/64") == [0xfe80_0000_0000_0000_0000_0000_0000_0001])
    #expect(kinds("::ffff:1.2.3.4") == [.ipv6])
    #expect(ipv6Values("::ffff:1.2.3.4") == [0xffff_0102_0304])
    #expect(kinds("face") == [.word])
  }

  @Test func numbersDottedAndHex() {
    #expect(kinds("10.0.0.1/0xff000000") == [.dotted, .punctuation(.slash), .hex])
    #expect(kinds("1.2.3.4-1.2.3.9") == [.dotted, .punctuation(.minus), .dotted])
    // A word that starts with a digit is still a word (IPFilter needs it quoted).
    #expect(tokens("3com0").map(\.kind) == [.word])
  }

  @Test func operators() {
    #expect(texts("= != < > <= >= <> >< ! ; , / : { }")
      == ["=", "!=", "<", ">", "<=", ">=", "<>", "><", "!", ";", ",", "/", ":", "{", "}"])
  }

  @Test func commentsAndContinuationsAreTrivia() {
    var lexer = Lexer(bytes: Array("map # a comment\n  le0 \\\n 1".utf8))
    var texts: [String] = []
    var starts: [Bool] = []
    while case let token = lexer.next(), token.kind != .endOfFile {
      texts.append(lexer.text(of: token))
      starts.append(token.startsLine)
    }
    #expect(texts == ["map", "le0", "1"])
    #expect(starts == [true, true, false])
    #expect(lexer.comments.map(\.text) == ["# a comment"])
  }

  @Test func quotedStringsEscapeAndFoldNewlines() {
    #expect(texts("'a\\'b' \"two\nlines\" hme0\\:1") == ["a'b", "two lines", "hme0:1"])
  }

  @Test func variablesExpandRecursivelyWithTheirOwnRange() {
    var lexer = Lexer(bytes: Array("$net/24 ${if}0 $$".utf8))
    lexer.define("base", value: "10.1", at: nil)
    lexer.define("net", value: "$base.0.0", at: nil)
    lexer.define("if", value: "le", at: nil)
    let first = lexer.next()
    #expect(first.kind == .dotted && lexer.text(of: first) == "10.1.0.0")
    #expect(first.range == SourceRange(start: 0, end: 4))
    #expect(lexer.variable(of: first) == "net")
    #expect(lexer.next().is(.slash))
    let length = lexer.next()
    #expect(lexer.text(of: length) == "24")
    let glued = lexer.next()
    #expect(lexer.text(of: glued) == "le0")  // the value is spliced: text right after `}` joins it
    #expect(glued.range == SourceRange(start: 8, end: 14))
  }

  @Test func lexicalErrorsAreDiagnosticsNotCrashes() {
    var lexer = Lexer(bytes: [0x6d, 0x00, 0x22, 0x61])  // m NUL "a (unterminated)
    while lexer.next().kind != .endOfFile {}
    #expect(lexer.diagnostics.map(\.id.rawValue) == ["lex.invalid-character", "lex.unterminated-string"])

    var invalidUTF8 = Lexer(bytes: [0x6c, 0x65, 0xff, 0x30])
    #expect(invalidUTF8.next().kind == .word)
    #expect(invalidUTF8.diagnostics.map(\.id.rawValue) == ["lex.invalid-utf8"])
  }

  /// The keyword table hashes packed, case-folded words; a plain lowercase comparison with every
  /// spelling is the reference. Words near keywords (one byte changed, added or removed, a byte
  /// next to a letter in ASCII or past it) are where a wrong fold or packing would show.
  @Test func aWordIsAKeywordExactlyWhenItSpellsOneIgnoringASCIICase() {
    func reference(_ word: [UInt8]) -> Keyword? {
      let folded = word.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 }
      return Keyword.allCases.first { Array($0.rawValue.utf8) == folded }
    }
    var words: [[UInt8]] = [[], Array("a-very-long-word-indeed".utf8), Array("round-robin-".utf8)]
    for keyword in Keyword.allCases {
      let spelling = Array(keyword.rawValue.utf8)
      words.append(spelling)
      words.append(spelling.map { $0 & ~0x20 })  // capitals, and '-' and digits changed
      words.append(spelling.enumerated().map { $0.offset % 2 == 0 ? $0.element & ~0x20 : $0.element })
      words.append(spelling + [UInt8(ascii: "s")])
      words.append([0] + spelling)
      words.append(Array(spelling.dropLast()))
      for index in spelling.indices {
        for replacement: UInt8 in [0x40, 0x5B, 0x60, 0x7B, 0xC1, 0xE1, spelling[index] &+ 1, spelling[index] & ~0x20] {
          var changed = spelling
          changed[index] = replacement
          words.append(changed)
        }
      }
    }
    for word in words {
      let string = String(decoding: word, as: UTF8.self)
      guard Array(string.utf8) == word else { continue }  // bytes that are not UTF-8 on their own
      #expect(Keyword(spelling: string) == reference(word), "\(word)")
    }
  }
}
