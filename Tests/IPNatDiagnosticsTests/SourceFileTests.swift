import IPNatDiagnostics
import Testing

@Suite struct SourceFileTests {
  @Test func locationsAreOneBasedLinesAndByteColumns() {
    let file = SourceFile(name: "x.conf", text: "map le0\r\nrdr é 1\n\nlast")
    #expect(file.location(of: 0) == SourceLocation(line: 1, column: 1))
    #expect(file.location(of: 4) == SourceLocation(line: 1, column: 5))
    #expect(file.location(of: 9) == SourceLocation(line: 2, column: 1))
    // "é" is two UTF-8 bytes: the '1' after it is at byte column 7.
    #expect(file.location(of: 15) == SourceLocation(line: 2, column: 7))
    #expect(file.location(of: 16) == SourceLocation(line: 2, column: 8))
    #expect(file.location(of: 18) == SourceLocation(line: 3, column: 1))
    #expect(file.location(of: 19) == SourceLocation(line: 4, column: 1))
    #expect(file.location(of: 1000) == SourceLocation(line: 4, column: 5))
  }

  /// Every offset of files with 0 to 40 lines of 0 to 3 bytes, and one past the end: the line
  /// is one more than the newlines before the offset, the column one more than the bytes since.
  @Test func everyOffsetFindsItsLineByCounting() {
    for lineCount in 0...40 {
      let text = (0..<lineCount).map { String(repeating: "x", count: ($0 * 7) % 4) }.joined(separator: "\n")
      let file = SourceFile(name: "x.conf", text: text)
      let bytes = Array(text.utf8)
      for offset in 0...bytes.count {
        let before = bytes[..<offset]
        let line = 1 + before.count { $0 == UInt8(ascii: "\n") }
        let column = 1 + offset - (before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0)
        #expect(file.location(of: offset) == SourceLocation(line: line, column: column), "\(lineCount) lines, offset \(offset)")
      }
    }
  }

  @Test func lineBytesDropTheLineTerminator() {
    let file = SourceFile(name: "x.conf", text: "one\r\ntwo\nthree")
    #expect(String(decoding: file.lineBytes(1), as: UTF8.self) == "one")
    #expect(String(decoding: file.lineBytes(2), as: UTF8.self) == "two")
    #expect(String(decoding: file.lineBytes(3), as: UTF8.self) == "three")
    #expect(file.lineBytes(4).isEmpty)
  }

  /// Words end at blanks and at a `#`; a stray carriage return separates words and hides
  /// nothing after it.
  @Test func wordsOfALine() {
    let file = SourceFile(name: "x.conf", text: "\tlisten on  eth0#lan\r\nports 1024-65535\r9 # x\n")
    #expect(file.words(ofLine: 1).map(\.text) == ["listen", "on", "eth0"])
    #expect(file.words(ofLine: 1).map(\.range.start) == [1, 8, 12])
    #expect(file.words(ofLine: 2).map(\.text) == ["ports", "1024-65535", "9"])
    #expect(file.words(ofLine: 3).isEmpty)
  }
}

@Suite struct DiagnosticRendererTests {
  let file = SourceFile(name: "gw.conf", text: "map le0 10.0.0.0/8 1.2.3.4/32\n\trdr\tle0 x\n")

  @Test func rendersHeaderSourceLineAndCaret() {
    let diagnostic = Diagnostic.error("parse.expected", "expected '->'", at: SourceRange(start: 19, end: 29))
    #expect(DiagnosticRenderer().render(diagnostic, in: file) == """
      gw.conf:1:20: error: expected '->' [parse.expected]
      map le0 10.0.0.0/8 1.2.3.4/32
                         ^~~~~~~~~~

      """)
  }

  @Test func keepsTabsSoTheCaretLinesUp() {
    let diagnostic = Diagnostic.warning("w.x", "odd", at: SourceRange(start: 35, end: 38))
    #expect(DiagnosticRenderer().render(diagnostic, in: file) == """
      gw.conf:2:6: warning: odd [w.x]
      \trdr\tle0 x
      \t   \t^~~

      """)
  }

  @Test func rendersNotesWithAndWithoutLocations() {
    let diagnostic = Diagnostic.error(
      "a.b", "bad", at: SourceRange(start: 0, end: 3),
      notes: [Note("see here", at: SourceRange(start: 4, end: 7)), Note("a hint")])
    #expect(DiagnosticRenderer().render(diagnostic, in: file) == """
      gw.conf:1:1: error: bad [a.b]
      map le0 10.0.0.0/8 1.2.3.4/32
      ^~~
      gw.conf:1:5: note: see here
      map le0 10.0.0.0/8 1.2.3.4/32
          ^~~
      note: a hint

      """)
  }

  @Test func caretAtEndOfFile() {
    let short = SourceFile(name: "s.conf", text: "map")
    let diagnostic = Diagnostic.error("parse.expected", "expected an interface", at: SourceRange(start: 3, end: 3))
    #expect(DiagnosticRenderer().render(diagnostic, in: short) == """
      s.conf:1:4: error: expected an interface [parse.expected]
      map
         ^

      """)
  }

  @Test func longLinesAreWindowedAroundTheCaret() {
    let long = SourceFile(name: "l.conf", text: String(repeating: "a", count: 5000) + " BAD " + String(repeating: "b", count: 5000))
    let diagnostic = Diagnostic.error("x.y", "here", at: SourceRange(start: 5001, end: 5004))
    let rendered = DiagnosticRenderer(maxLineWidth: 40).render(diagnostic, in: long)
    let lines = rendered.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines[1].count == 46)  // "..." + 40 characters + "..."
    #expect(lines[1].contains("BAD"))
    let caretColumn = lines[2].firstIndex(of: "^").map { lines[2].distance(from: lines[2].startIndex, to: $0) }
    let badColumn = lines[1].firstRange(of: "BAD").map { lines[1].distance(from: lines[1].startIndex, to: $0.lowerBound) }
    #expect(caretColumn == badColumn)
  }

  @Test func controlCharactersAreReplacedAndEachCharacterTakesOneMark() {
    // ESC (which could recolour a terminal), C1 NEL, and an e with a combining acute accent:
    // three bytes that are one character, so one mark.
    let hostile = SourceFile(name: "h.conf", text: "map \u{1B}[31m e\u{301}\u{85} x\n")
    let diagnostic = Diagnostic.error("a.b", "bad", at: SourceRange(start: 16, end: 17))
    #expect(DiagnosticRenderer().render(diagnostic, in: hostile) == """
      h.conf:1:17: error: bad [a.b]
      map \u{FFFD}[31m e\u{301}\u{FFFD} x
                   ^

      """)
  }

  @Test func asciiControlCharactersAreEachOneCharacter() {
    // ESC, DEL and a lone carriage return: ASCII, so one character (and one mark) per byte,
    // each shown as U+FFFD.
    let hostile = SourceFile(name: "h.conf", text: "map \u{1B}[31m \u{7F}\r x\n")
    let diagnostic = Diagnostic.error("a.b", "bad", at: SourceRange(start: 13, end: 14))
    #expect(DiagnosticRenderer().render(diagnostic, in: hostile) == """
      h.conf:1:14: error: bad [a.b]
      map \u{FFFD}[31m \u{FFFD}\u{FFFD} x
                   ^

      """)
  }

  @Test func caretCountsTheFilesBytesPastInvalidUTF8() {
    // Three Latin-1 bytes, each shown as U+FFFD (three bytes of UTF-8), must move the caret by
    // three characters, not nine bytes.
    let latin1 = SourceFile(name: "l.conf", bytes: Array("tag ".utf8) + [0xE9, 0xE9, 0xE9] + Array(" foo\n".utf8))
    let diagnostic = Diagnostic.error("a.b", "bad", at: SourceRange(start: 8, end: 11))
    #expect(DiagnosticRenderer().render(diagnostic, in: latin1) == """
      l.conf:1:9: error: bad [a.b]
      tag \u{FFFD}\u{FFFD}\u{FFFD} foo
              ^~~

      """)
  }

  @Test func diagnosticsRenderedTogetherReadAsEachRenderedAlone() {
    // The renderer decodes a line once for the diagnostics that point into it in a row: the
    // result must not depend on which came first, nor mix up two stretches of a long line.
    let line = "caf\u{E9} \u{1B} " + String(repeating: "\u{E9}", count: 900) + " end"
    let file = SourceFile(name: "m.conf", text: line + "\nplain line\n" + line + "\n")
    let secondLine = line.utf8.count + 1
    let ranges = [(0, 5), (6, 7), (1_808, 1_811), (secondLine, secondLine + 5), (secondLine + 7, secondLine + 7),
                  (secondLine + 11, secondLine + 20), (0, 3)]
    let diagnostics = ranges.map { Diagnostic.error("a.b", "bad", at: SourceRange(start: $0.0, end: $0.1)) }
    let renderer = DiagnosticRenderer(maxLineWidth: 40)
    #expect(renderer.render(diagnostics, in: file) == diagnostics.map { renderer.render($0, in: file) }.joined())
    #expect(renderer.render(diagnostics, in: file).contains("end"))
  }

  @Test func colourOnlyWhenAsked() {
    let diagnostic = Diagnostic.error("a.b", "bad", at: SourceRange(start: 0, end: 3))
    #expect(!DiagnosticRenderer(useColor: false).render(diagnostic, in: file).contains("\u{1B}"))
    #expect(DiagnosticRenderer(useColor: true).render(diagnostic, in: file).contains("\u{1B}[1;31merror:"))
  }
}
