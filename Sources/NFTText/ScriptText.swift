import IPAddressing

/// Where the script's text is written: a `String` for most of it, and ``ScriptBytes`` for the
/// elements of maps, which are most of a large script. Appending a piece to a `String` cost a
/// few hundred instructions, several times what appending its bytes costs.
protocol ScriptText: ~Copyable {
  mutating func write(_ literal: StaticString)
  mutating func write(string: String)
  mutating func write(decimal value: UInt64)
  mutating func write(address: IPAddress)
}

extension String: ScriptText {
  mutating func write(_ literal: StaticString) { literal.withUTF8Buffer { self += String(decoding: $0, as: UTF8.self) } }
  mutating func write(string: String) { self += string }
  mutating func write(decimal value: UInt64) { self += String(value) }
  mutating func write(address: IPAddress) { self += address.description }
}

/// UTF-8 bytes, handed to a `String` a chunk at a time (``flush(into:)``): the text of a map
/// of a hundred thousand elements is never held twice.
struct ScriptBytes: ScriptText, ~Copyable {
  private var bytes: UTF8Writer
  private static let chunkSize = 64 * 1024

  init() { bytes = UTF8Writer(capacity: Self.chunkSize + 1024) }

  mutating func write(_ literal: StaticString) { bytes.write(literal) }
  mutating func write(string: String) { bytes.write(string) }
  mutating func write(decimal value: UInt64) { bytes.write(decimal: value) }
  mutating func write(address: IPAddress) { bytes.write(address) }

  /// Appends the bytes written so far to `text`, once they fill a chunk.
  mutating func flushWhenFull(into text: inout String) {
    if bytes.count >= Self.chunkSize { flush(into: &text) }
  }

  mutating func flush(into text: inout String) {
    text += bytes.text
    bytes.removeAll()
  }
}
