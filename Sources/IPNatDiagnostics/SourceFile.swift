#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A half-open range of UTF-8 byte offsets into one ``SourceFile``.
///
/// Offsets, not line and column, are what the front end stores: converting to a
/// line and column happens once, when a diagnostic is rendered. Every AST node has a range,
/// so they are kept in 32 bits; offsets past 4 GiB saturate rather than trap.
public struct SourceRange: Hashable, Sendable, CustomStringConvertible {
  private var storedStart: UInt32
  private var storedEnd: UInt32

  public var start: Int {
    get { Int(storedStart) }
    set { storedStart = UInt32(clamping: newValue) }
  }

  public var end: Int {
    get { Int(storedEnd) }
    set { storedEnd = UInt32(clamping: newValue) }
  }

  public init(start: Int, end: Int) {
    precondition(start <= end, "a source range may not end before it starts")
    storedStart = UInt32(clamping: start)
    storedEnd = UInt32(clamping: end)
  }

  /// The smallest range that covers both `self` and `other`.
  public func extended(to other: SourceRange) -> SourceRange {
    SourceRange(start: min(start, other.start), end: max(end, other.end))
  }

  public var description: String { "\(start)..<\(end)" }
}

/// A 1-based line and column; the column counts UTF-8 bytes, like the Swift compiler's.
public struct SourceLocation: Hashable, Sendable {
  public var line: Int
  public var column: Int

  public init(line: Int, column: Int) {
    self.line = line
    self.column = column
  }
}

/// The text of one input (a file, or standard input) with a table of line starts,
/// built once so that every offset converts to a line in logarithmic time.
public struct SourceFile: Sendable {
  /// The name diagnostics print: the path as the user gave it, or `<stdin>`.
  public let name: String
  public let bytes: [UInt8]
  private let lineStarts: [Int]

  public init(name: String, bytes: [UInt8]) {
    self.name = name
    self.bytes = bytes
    self.lineStarts = Self.lineStarts(of: bytes)
  }

  /// Where each line starts. `memchr` finds the newlines: a compile waits for this before
  /// parsing, and a byte-by-byte loop took 1.5 % of it.
  private static func lineStarts(of bytes: [UInt8]) -> [Int] {
    var starts = [0]
    bytes.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return }
      var offset = 0
      while offset < buffer.count, let newline = memchr(base + offset, Int32(UInt8(ascii: "\n")), buffer.count - offset) {
        offset = base.distance(to: newline.assumingMemoryBound(to: UInt8.self)) + 1
        starts.append(offset)
      }
    }
    return starts
  }

  public init(name: String, text: String) {
    self.init(name: name, bytes: Array(text.utf8))
  }

  public var lineCount: Int { lineStarts.count }

  public func location(of offset: Int) -> SourceLocation {
    let clamped = max(0, min(offset, bytes.count))
    // Binary search for the last line start at or before `clamped`, without a branch on the
    // comparison (it becomes a conditional move): lowering looks up the line of every rule,
    // and in a large file a branch there is mispredicted half the time.
    let line = lineStarts.withUnsafeBufferPointer { starts in
      var first = 0
      var count = starts.count
      while count > 1 {
        let half = count / 2
        first = starts[first + half] <= clamped ? first + half : first
        count -= half
      }
      return first
    }
    return SourceLocation(line: line + 1, column: clamped - lineStarts[line] + 1)
  }

  /// Like ``location(of:)``, with the column counted in Unicode scalars instead of bytes: what
  /// SARIF (`columnKind: unicodeCodePoints`) and GitHub annotations expect.
  public func scalarLocation(of offset: Int) -> SourceLocation {
    let location = location(of: offset)
    let lineStart = offset - (location.column - 1)
    let clamped = max(lineStart, min(offset, bytes.count))
    // Every byte that does not continue a UTF-8 sequence starts a scalar.
    let scalars = bytes[lineStart..<clamped].count { $0 & 0xC0 != 0x80 }
    return SourceLocation(line: location.line, column: scalars + 1)
  }

  /// The bytes of a 1-based line, without its line terminator (LF or CRLF).
  public func lineBytes(_ line: Int) -> ArraySlice<UInt8> {
    guard line >= 1, line <= lineStarts.count else { return [] }
    let start = lineStarts[line - 1]
    var end = line < lineStarts.count ? lineStarts[line] - 1 : bytes.count
    if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
    return bytes[start..<max(start, end)]
  }

  /// The source text a range covers, decoded leniently (invalid UTF-8 becomes U+FFFD).
  public func text(in range: SourceRange) -> String {
    let start = max(0, min(range.start, bytes.count))
    let end = max(start, min(range.end, bytes.count))
    return String(decoding: bytes[start..<end], as: UTF8.self)
  }
}

/// A word of a line-oriented file (natpmpd.conf, `ipnat test`'s packet lines) and where it lies.
public struct SourceWord: Sendable, Equatable {
  public var text: Substring
  public var range: SourceRange

  public init(text: Substring, range: SourceRange) {
    self.text = text
    self.range = range
  }
}

extension SourceFile {
  /// The words of a line, up to a `#` comment, separated by spaces and tabs. A carriage return
  /// within the line separates words too: it ends neither the line nor what follows it.
  public func words(ofLine line: Int) -> [SourceWord] {
    let bytes = lineBytes(line)
    let separators: [UInt8] = [0x20, 0x09, 0x0d]
    var words: [SourceWord] = []
    var index = bytes.startIndex
    while index < bytes.endIndex, bytes[index] != UInt8(ascii: "#") {
      if separators.contains(bytes[index]) {
        index += 1
        continue
      }
      let start = index
      while index < bytes.endIndex, !separators.contains(bytes[index]), bytes[index] != UInt8(ascii: "#") { index += 1 }
      words.append(SourceWord(text: Substring(decoding: bytes[start..<index], as: UTF8.self), range: SourceRange(start: start, end: index)))
    }
    return words
  }
}
