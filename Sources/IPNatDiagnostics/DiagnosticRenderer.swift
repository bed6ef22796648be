/// Renders diagnostics the way the Swift compiler and nft do:
///
/// ```
/// gateway.conf:3:20: error: expected '->' after the source address [parse.expected-arrow]
/// map le0 10.0.0.0/8 1.2.3.4/32
///                    ^~~~~~~
/// ```
///
/// The header is clickable in editors; the caret marks the start of the range and the tildes
/// its extent on that line. Colour is the caller's choice (only for a terminal).
public struct DiagnosticRenderer: Sendable {
  public var useColor: Bool
  /// Source lines longer than this many characters are shown as a window around the caret,
  /// so a 10 MB line does not flood the terminal.
  public var maxLineWidth: Int

  public init(useColor: Bool = false, maxLineWidth: Int = 160) {
    self.useColor = useColor
    self.maxLineWidth = maxLineWidth
  }

  /// One diagnostic with its notes, each line ending in a newline.
  public func render(_ diagnostic: Diagnostic, in file: SourceFile) -> String {
    var out = header(file: file, range: diagnostic.range, severity: diagnostic.severity)
    out += paint(diagnostic.message, .bold) + " [\(diagnostic.id)]\n"
    if let range = diagnostic.range { out += excerpt(of: range, in: file) }
    for note in diagnostic.notes {
      out += header(file: file, range: note.range, severity: .note) + note.message + "\n"
      if let range = note.range { out += excerpt(of: range, in: file) }
    }
    for fixIt in diagnostic.fixIts {
      out += header(file: file, range: fixIt.range, severity: .note)
      let edit = fixIt.range.start == fixIt.range.end ? "insert" : "replace with"
      out += "\(fixIt.message): \(edit) '\(fixIt.replacement)'\n"
    }
    return out
  }

  /// A diagnostic that belongs to no file (a file that cannot be read, a kernel that refuses a
  /// transaction), under the tool's name: `ipnat: error: cannot open 'x.conf': … [input.unreadable]`.
  public func render(_ diagnostic: Diagnostic, tool: String) -> String {
    let label = paint(diagnostic.severity.rawValue + ":", color(for: diagnostic.severity))
    var out = paint(tool + ":", .bold) + " " + label + " " + paint(diagnostic.message, .bold) + " [\(diagnostic.id)]\n"
    for note in diagnostic.notes { out += paint("note:", .note) + " " + note.message + "\n" }
    return out
  }

  public func render(_ diagnostics: [Diagnostic], in file: SourceFile) -> String {
    diagnostics.map { render($0, in: file) }.joined()
  }

  /// `file:line:col: severity: `; a note without a location is just `note: `.
  private func header(file: SourceFile, range: SourceRange?, severity: Severity) -> String {
    let label = paint(severity.rawValue + ":", color(for: severity)) + " "
    guard let range else { return severity == .note ? label : paint(file.name + ":", .bold) + " " + label }
    let location = file.location(of: range.start)
    return paint("\(file.name):\(location.line):\(location.column):", .bold) + " " + label
  }

  /// The source line of `range.start` and a caret line under it.
  private func excerpt(of range: SourceRange, in file: SourceFile) -> String {
    let location = file.location(of: range.start)
    // Decode only bytes near the caret: a 10 MB line must not become 10 million Characters.
    let lineBytes = file.lineBytes(location.line)
    let reach = 4 * maxLineWidth
    var sliceStart = max(lineBytes.startIndex, range.start - reach)
    while sliceStart > lineBytes.startIndex, lineBytes[sliceStart] & 0xC0 == 0x80 { sliceStart -= 1 }
    var sliceEnd = min(lineBytes.endIndex, range.start + reach)
    while sliceEnd < lineBytes.endIndex, lineBytes[sliceEnd] & 0xC0 == 0x80 { sliceEnd += 1 }
    let truncatedFront = sliceStart > lineBytes.startIndex
    let truncatedBack = sliceEnd < lineBytes.endIndex
    let slice = lineBytes[sliceStart..<sliceEnd]
    if slice.allSatisfy(Self.isPlainASCII) {
      return plainExcerpt(slice, caret: range.start - sliceStart, end: min(range.end, sliceEnd) - sliceStart,
                          truncatedFront: truncatedFront, truncatedBack: truncatedBack)
    }
    let line = Array(String(decoding: slice, as: UTF8.self))
    let lineStartOffset = sliceStart
    let caretIndex = characterIndex(ofByte: range.start - sliceStart, in: line)
    let endByteOnLine = min(range.end, sliceEnd) - lineStartOffset
    let endIndex = max(caretIndex + 1, characterIndex(ofByte: endByteOnLine, in: line))

    let window = visibleWindow(lineLength: line.count, caret: caretIndex)
    let elided = window.lowerBound > 0 || truncatedFront
    var shown = elided ? "..." : ""
    var marks = elided ? "   " : ""
    for index in window {
      let character = line[index]
      shown.append(Self.isControl(character) ? "\u{FFFD}" : character)
      if index < caretIndex {
        marks.append(character == "\t" ? "\t" : " ")
      } else if index == caretIndex {
        marks.append("^")
      } else if index < endIndex {
        marks.append("~")
      }
    }
    if caretIndex >= line.count { marks.append("^") }
    if window.upperBound < line.count || truncatedBack { shown += "..." }
    return shown + "\n" + paint(marks, .green) + "\n"
  }

  /// A tab or a printable ASCII byte: a line of only these is one character per byte, with no
  /// control character to hide.
  private static func isPlainASCII(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: "\t") || (0x20..<0x7F).contains(byte)
  }

  /// ``excerpt(of:in:)`` for a line of plain ASCII (nearly every line of a real file), written
  /// byte by byte: decoding into Characters took most of the time of rendering an error, and
  /// a file with thousands of errors renders thousands of excerpts.
  private func plainExcerpt(_ line: ArraySlice<UInt8>, caret: Int, end: Int, truncatedFront: Bool,
                            truncatedBack: Bool) -> String {
    let endIndex = max(caret + 1, end)
    let window = visibleWindow(lineLength: line.count, caret: caret)
    let elided = window.lowerBound > 0 || truncatedFront
    var shown: [UInt8] = elided ? Array("...".utf8) : []
    var marks: [UInt8] = elided ? Array("   ".utf8) : []
    shown.reserveCapacity(window.count + 6)
    marks.reserveCapacity(window.count + 4)
    for index in window {
      let byte = line[line.startIndex + index]
      shown.append(byte)
      if index < caret {
        marks.append(byte == UInt8(ascii: "\t") ? byte : UInt8(ascii: " "))
      } else if index == caret {
        marks.append(UInt8(ascii: "^"))
      } else if index < endIndex {
        marks.append(UInt8(ascii: "~"))
      }
    }
    if caret >= line.count { marks.append(UInt8(ascii: "^")) }
    if window.upperBound < line.count || truncatedBack { shown += "...".utf8 }
    return String(decoding: shown, as: UTF8.self) + "\n" + paint(String(decoding: marks, as: UTF8.self), .green) + "\n"
  }

  /// Control characters (NUL, escape, carriage return, …) are never copied to the terminal: a
  /// hostile file must not be able to move the cursor or recolour the screen of whoever reads
  /// its diagnostics. Tabs stay, so that the caret line lines up.
  private static func isControl(_ character: Character) -> Bool {
    // Most characters are one ASCII byte (CR LF, one Character, reads as LF: a control too).
    if let ascii = character.asciiValue { return ascii != UInt8(ascii: "\t") && (ascii < 0x20 || ascii == 0x7F) }
    return character.unicodeScalars.contains { scalar in
      scalar != "\t" && (scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value))
    }
  }

  private func visibleWindow(lineLength: Int, caret: Int) -> Range<Int> {
    guard lineLength > maxLineWidth else { return 0..<lineLength }
    let start = max(0, min(caret - maxLineWidth / 2, lineLength - maxLineWidth))
    return start..<(start + maxLineWidth)
  }

  /// Converts a byte offset within a line to an index into its characters.
  private func characterIndex(ofByte byteOffset: Int, in line: [Character]) -> Int {
    var bytes = 0
    for (index, character) in line.enumerated() {
      if bytes >= byteOffset { return index }
      bytes += character.utf8.count
    }
    return line.count
  }

  // MARK: - Colour

  private enum Style: String {
    case bold = "1"
    case red = "1;31"
    case magenta = "1;35"
    case green = "1;32"
    case note = "1;30"
  }

  private func color(for severity: Severity) -> Style {
    switch severity {
    case .error: .red
    case .warning: .magenta
    case .note: .note
    }
  }

  private func paint(_ text: String, _ style: Style) -> String {
    guard useColor, !text.isEmpty else { return text }
    return "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m"
  }
}
