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

  @Test func keywordsAreCaseInsensitiveButQuotedWordsNeverAre() {
    let lexed = tokens("MAP Map-Block \"map\" \\any round-robin")
    #expect(lexed.map(\.keyword) == [.map, .mapBlock, nil, nil, .roundRobin])
    #expect(lexed[2].kind == .quoted)
    #expect(lexed[3].text == "any")
  }

  @Test func hyphensJoinWordsButArrowsSplitThem() {
    #expect(tokens("br-lan ipv6-icmp").map(\.text) == ["br-lan", "ipv6-icmp"])
    #expect(tokens("le0->x").map(\.text) == ["le0", "->", "x"])
    #expect(kinds("80-88") == [.number, .punctuation(.minus), .number])
  }

  @Test func ipv6LiteralsAreRecognisedByShapeNotPortRanges() {
    #expect(kinds("10000:19999") == [.number, .punctuation(.colon), .number])
    #expect(kinds("1:4") == [.number, .punctuation(.colon), .number])
    #expect(kinds("::1") == [.ipv6(1)])
    #expect(kinds("fe80::1/64") == [.ipv6(0xfe80_0000_0000_0000_0000_0000_0000_0001), .punctuation(.slash), .number])
    #expect(kinds("::ffff:1.2.3.4") == [.ipv6(0xffff_0102_0304)])
    #expect(kinds("face") == [.word])
  }

  @Test func numbersDottedAndHex() {
    #expect(kinds("10.0.0.1/0xff000000") == [.dotted, .punctuation(.slash), .hex])
    #expect(kinds("1.2.3.4-1.2.3.9") == [.dotted, .punctuation(.minus), .dotted])
    // A word that starts with a digit is still a word (IPFilter needs it quoted).
    #expect(tokens("3com0").map(\.kind) == [.word])
  }

  @Test func operators() {
    #expect(tokens("= != < > <= >= <> >< ! ; , / : { }").map(\.text)
      == ["=", "!=", "<", ">", "<=", ">=", "<>", "><", "!", ";", ",", "/", ":", "{", "}"])
  }

  @Test func commentsAndContinuationsAreTrivia() {
    var lexer = Lexer(bytes: Array("map # a comment\n  le0 \\\n 1".utf8))
    var texts: [String] = []
    var starts: [Bool] = []
    while case let token = lexer.next(), token.kind != .endOfFile {
      texts.append(token.text)
      starts.append(token.startsLine)
    }
    #expect(texts == ["map", "le0", "1"])
    #expect(starts == [true, true, false])
    #expect(lexer.comments.map(\.text) == ["# a comment"])
  }

  @Test func quotedStringsEscapeAndFoldNewlines() {
    #expect(tokens("'a\\'b' \"two\nlines\" hme0\\:1").map(\.text) == ["a'b", "two lines", "hme0:1"])
  }

  @Test func variablesExpandRecursivelyWithTheirOwnRange() {
    var lexer = Lexer(bytes: Array("$net/24 ${if}0 $$".utf8))
    lexer.define("base", value: "10.1", at: nil)
    lexer.define("net", value: "$base.0.0", at: nil)
    lexer.define("if", value: "le", at: nil)
    let first = lexer.next()
    #expect(first.kind == .dotted && first.text == "10.1.0.0")
    #expect(first.range == SourceRange(start: 0, end: 4))
    #expect(first.variable == "net")
    #expect(lexer.next().is(.slash))
    #expect(lexer.next().text == "24")
    let glued = lexer.next()
    #expect(glued.text == "le0")  // the value is spliced: text right after `}` joins it
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
}
