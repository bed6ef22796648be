/// A source line, or the stretch of a long line around a caret, ready to be excerpted under a
/// diagnostic: its characters, with control characters made harmless, and where each starts.
///
/// Decoding a line into Characters costs more than everything else in rendering a diagnostic,
/// and a broken line usually draws several (a lexer error, the parser's, their notes), so the
/// renderer decodes it once for all of them (``ExcerptLines``). A line of plain ASCII, nearly
/// every line of a real file, is not decoded at all: each byte is a character.
struct ExcerptLine {
  /// The file's bytes this shows.
  let bytes: Range<Int>
  /// Whether the line goes on before `bytes` or after them (a long line, cut around the caret).
  let truncatedFront: Bool
  let truncatedBack: Bool
  private let characters: Characters

  private enum Characters {
    /// Tabs and printable ASCII: one character per byte, none to hide.
    case plain(ArraySlice<UInt8>)
    /// Anything else, decoded (invalid UTF-8 as U+FFFD) into characters: where each starts in
    /// the file's bytes (from the start of the span), and the UTF-8 of all of them as shown
    /// (control characters replaced), with where each starts there and, last, where it ends.
    case decoded(sourceStarts: [Int], shown: [UInt8], shownStarts: [Int])
  }

  /// The part `span` (``span(of:around:reach:)``) of the line `lineBytes`.
  init(line lineBytes: ArraySlice<UInt8>, showing span: Range<Int>) {
    bytes = span
    truncatedFront = bytes.lowerBound > lineBytes.startIndex
    truncatedBack = bytes.upperBound < lineBytes.endIndex
    let slice = lineBytes[bytes]
    if slice.allSatisfy(Self.isPlainASCII) {
      characters = .plain(slice)
    } else if slice.allSatisfy({ $0 < 0x80 }) {
      characters = Self.decodeASCII(slice)
    } else {
      characters = Self.decode(slice)
    }
  }

  /// ASCII with control characters: still one character per byte (a line holds no `\r\n`, the
  /// one pair of ASCII bytes that is a single character), each control character shown as
  /// U+FFFD. Decoding into Characters, as any other line is, took most of the time a fuzzer
  /// spends on hostile files.
  private static func decodeASCII(_ slice: ArraySlice<UInt8>) -> Characters {
    var shownStarts: [Int] = []
    var shown: [UInt8] = []
    shownStarts.reserveCapacity(slice.count + 1)
    shown.reserveCapacity(slice.count + 16)
    for byte in slice {
      shownStarts.append(shown.count)
      if isPlainASCII(byte) { shown.append(byte) } else { shown += "\u{FFFD}".utf8 }
    }
    shownStarts.append(shown.count)
    return .decoded(sourceStarts: Array(0..<slice.count), shown: shown, shownStarts: shownStarts)
  }

  private static func decode(_ slice: ArraySlice<UInt8>) -> Characters {
    // Decoding makes at most one character of each byte (an invalid byte becomes U+FFFD).
    var sourceStarts: [Int] = []
    var shownStarts: [Int] = []
    var shown: [UInt8] = []
    sourceStarts.reserveCapacity(slice.count)
    shownStarts.reserveCapacity(slice.count + 1)
    shown.reserveCapacity(slice.count + 16)
    // Offsets count the file's bytes: an invalid sequence is one U+FFFD of three bytes in the
    // decoded text, but the caret after it must move by the sequence's own length. The parser
    // splits the bytes as the decoding does, one scalar (or replacement) at a time.
    var parser = Unicode.UTF8.ForwardParser()
    var source = slice.makeIterator()
    var sourceOffset = 0
    for character in String(decoding: slice, as: UTF8.self) {
      sourceStarts.append(sourceOffset)
      shownStarts.append(shown.count)
      for _ in character.unicodeScalars { sourceOffset += sourceLength(ofNextScalarIn: &source, parser: &parser) }
      let utf8 = character.utf8
      if containsControl(utf8) { shown += "\u{FFFD}".utf8 } else { shown += utf8 }
    }
    shownStarts.append(shown.count)
    return .decoded(sourceStarts: sourceStarts, shown: shown, shownStarts: shownStarts)
  }

  private static func sourceLength(ofNextScalarIn source: inout ArraySlice<UInt8>.Iterator,
                                   parser: inout Unicode.UTF8.ForwardParser) -> Int {
    switch parser.parseScalar(from: &source) {
    case .valid(let encoded): encoded.count
    case .error(let length): length
    case .emptyInput: 0
    }
  }

  /// The bytes of `lineBytes` within `reach` of `offset` either side, widened to whole UTF-8
  /// sequences: a 10 MB line must not become 10 million Characters.
  static func span(of lineBytes: ArraySlice<UInt8>, around offset: Int, reach: Int) -> Range<Int> {
    var start = max(lineBytes.startIndex, offset - reach)
    while start > lineBytes.startIndex, lineBytes[start] & 0xC0 == 0x80 { start -= 1 }
    var end = min(lineBytes.endIndex, offset + reach)
    while end < lineBytes.endIndex, lineBytes[end] & 0xC0 == 0x80 { end += 1 }
    return start..<end
  }

  var count: Int {
    switch characters {
    case .plain(let bytes): bytes.count
    case .decoded(let sourceStarts, _, _): sourceStarts.count
    }
  }

  /// The index of the first character that starts at or after `byteOffset` (counted in the
  /// file's bytes from `bytes.lowerBound`), or `count` if none does.
  func characterIndex(ofByte byteOffset: Int) -> Int {
    switch characters {
    case .plain(let bytes):
      return max(0, min(byteOffset, bytes.count))
    case .decoded(let starts, _, _):
      var low = 0
      var high = starts.count
      while low < high {
        let middle = (low + high) / 2
        if starts[middle] < byteOffset { low = middle + 1 } else { high = middle }
      }
      return low
    }
  }

  /// The characters in `window`, as shown.
  func text(_ window: Range<Int>) -> String {
    switch characters {
    case .plain(let bytes):
      String(decoding: bytes[(bytes.startIndex + window.lowerBound)..<(bytes.startIndex + window.upperBound)], as: UTF8.self)
    case .decoded(_, let shown, let starts):
      String(decoding: shown[starts[window.lowerBound]..<starts[window.upperBound]], as: UTF8.self)
    }
  }

  /// One space under each character in `range`, but a tab under a tab, so that a caret after
  /// them lines up whatever the terminal's tab stops.
  func padding(_ range: Range<Int>) -> String {
    let tab = UInt8(ascii: "\t")
    let space = UInt8(ascii: " ")
    var padding: [UInt8] = []
    padding.reserveCapacity(range.count)
    switch characters {
    case .plain(let bytes):
      for index in range { padding.append(bytes[bytes.startIndex + index] == tab ? tab : space) }
    case .decoded(_, let shown, let starts):
      for index in range {
        let isTab = starts[index + 1] - starts[index] == 1 && shown[starts[index]] == tab
        padding.append(isTab ? tab : space)
      }
    }
    return String(decoding: padding, as: UTF8.self)
  }

  /// A tab or a printable ASCII byte: a line of only these is one character per byte, with no
  /// control character to hide.
  private static func isPlainASCII(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: "\t") || (0x20..<0x7F).contains(byte)
  }

  /// Control characters (NUL, escape, carriage return, C1 controls, …) are never copied to the
  /// terminal: a hostile file must not be able to move the cursor or recolour the screen of
  /// whoever reads its diagnostics. Tabs stay, so that the caret line lines up. Read from the
  /// character's valid UTF-8: a byte below 0x80 is a scalar of its own, and C1 controls
  /// (U+0080 to U+009F) are C2 80 to C2 9F.
  private static func containsControl(_ utf8: Character.UTF8View) -> Bool {
    var previous: UInt8 = 0
    for byte in utf8 {
      if byte < 0x20 && byte != UInt8(ascii: "\t") || byte == 0x7F { return true }
      if previous == 0xC2 && (0x80...0x9F).contains(byte) { return true }
      previous = byte
    }
    return false
  }
}

/// The lines a run of diagnostics points into, each decoded once while consecutive diagnostics
/// point into it. Only the last is kept: diagnostics come mostly in the order of the file, and a file
/// of broken lines must not be held decoded (17 bytes a character) all at once.
struct ExcerptLines {
  let file: SourceFile
  let reach: Int
  private var last: ExcerptLine?

  init(file: SourceFile, reach: Int) {
    self.file = file
    self.reach = reach
  }

  mutating func line(around offset: Int) -> ExcerptLine {
    let lineBytes = file.lineBytes(file.location(of: offset).line)
    let span = ExcerptLine.span(of: lineBytes, around: offset, reach: reach)
    // Two spans of the file are equal only if they are the same part of the same line.
    if let last, last.bytes == span { return last }
    let line = ExcerptLine(line: lineBytes, showing: span)
    last = line
    return line
  }
}
