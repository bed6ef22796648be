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
    var lines = excerptLines(of: file)
    return render(diagnostic, in: file, lines: &lines)
  }

  private func render(_ diagnostic: Diagnostic, in file: SourceFile, lines: inout ExcerptLines) -> String {
    var out = header(file: file, range: diagnostic.range, severity: diagnostic.severity)
    out += paint(diagnostic.message, .bold) + " [\(diagnostic.id)]\n"
    if let range = diagnostic.range { out += excerpt(of: range, from: lines.line(around: range.start)) }
    for note in diagnostic.notes {
      out += header(file: file, range: note.range, severity: .note) + note.message + "\n"
      if let range = note.range { out += excerpt(of: range, from: lines.line(around: range.start)) }
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

  /// Several diagnostics of one file; those that point into the same line share its decoding.
  public func render(_ diagnostics: [Diagnostic], in file: SourceFile) -> String {
    var lines = excerptLines(of: file)
    return diagnostics.map { render($0, in: file, lines: &lines) }.joined()
  }

  /// Each excerpt decodes the bytes within four times the width of a window of its caret:
  /// enough for a whole window of four-byte characters.
  private func excerptLines(of file: SourceFile) -> ExcerptLines {
    ExcerptLines(file: file, reach: 4 * maxLineWidth)
  }

  /// `file:line:col: severity: `; a note without a location is just `note: `.
  private func header(file: SourceFile, range: SourceRange?, severity: Severity) -> String {
    let label = paint(severity.rawValue + ":", color(for: severity)) + " "
    guard let range else { return severity == .note ? label : paint(file.name + ":", .bold) + " " + label }
    let location = file.location(of: range.start)
    return paint("\(file.name):\(location.line):\(location.column):", .bold) + " " + label
  }

  /// The source line of `range.start` and a caret line under it: a caret at the start of the
  /// range and tildes over the rest of it on that line, each mark under its character.
  private func excerpt(of range: SourceRange, from line: ExcerptLine) -> String {
    let caret = line.characterIndex(ofByte: range.start - line.bytes.lowerBound)
    let rangeEnd = line.characterIndex(ofByte: min(range.end, line.bytes.upperBound) - line.bytes.lowerBound)
    let end = max(caret + 1, rangeEnd)
    let window = visibleWindow(lineLength: line.count, caret: caret)
    let elided = window.lowerBound > 0 || line.truncatedFront
    var shown = elided ? "..." : ""
    var marks = elided ? "   " : ""
    shown += line.text(window)
    // A caret inside the line is inside the window (see visibleWindow); past its end, it
    // follows the last character.
    marks += line.padding(window.lowerBound..<min(caret, window.upperBound))
    if caret < window.upperBound {
      marks += "^"
      marks += String(repeating: "~", count: max(0, min(end, window.upperBound) - caret - 1))
    }
    if caret >= line.count { marks += "^" }
    if window.upperBound < line.count || line.truncatedBack { shown += "..." }
    return shown + "\n" + paint(marks, .green) + "\n"
  }

  private func visibleWindow(lineLength: Int, caret: Int) -> Range<Int> {
    guard lineLength > maxLineWidth else { return 0..<lineLength }
    let start = max(0, min(caret - maxLineWidth / 2, lineLength - maxLineWidth))
    return start..<(start + maxLineWidth)
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
