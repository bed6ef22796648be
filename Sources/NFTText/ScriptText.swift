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
/// of a hundred thousand elements is never held twice. Each piece is copied straight into
/// storage of its own: appending to an array cost about a hundred instructions a piece, and an
/// element has a dozen.
struct ScriptBytes: ScriptText, ~Copyable {
  private var storage: UnsafeMutableBufferPointer<UInt8>
  private var count = 0
  private static let chunkSize = 64 * 1024

  init() { storage = .allocate(capacity: Self.chunkSize + 1024) }

  deinit { storage.deallocate() }

  mutating func write(_ literal: StaticString) { literal.withUTF8Buffer { append($0) } }

  mutating func write(string: String) {
    var string = string
    string.withUTF8 { append($0) }
  }

  mutating func write(decimal value: UInt64) {
    reserve(DecimalText.maximumDigits)
    count += DecimalText.write(value, into: storage.baseAddress! + count)
  }

  mutating func write(address: IPAddress) {
    guard address.family == .inet else { return write(string: address.description) }
    reserve(15)
    count += IPAddress.writeIPv4(UInt32(truncatingIfNeeded: address.bits),
                                 into: UnsafeMutableBufferPointer(rebasing: storage[count...]))
  }

  /// Appends the bytes written so far to `text`, once they fill a chunk.
  mutating func flushWhenFull(into text: inout String) {
    if count >= Self.chunkSize { flush(into: &text) }
  }

  mutating func flush(into text: inout String) {
    text += String(decoding: storage[..<count], as: UTF8.self)
    count = 0
  }

  private mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
    guard let source = bytes.baseAddress else { return }
    reserve(bytes.count)
    (storage.baseAddress! + count).update(from: source, count: bytes.count)
    count += bytes.count
  }

  /// Makes room for `more` bytes: a piece longer than the slack after a chunk (an interface
  /// name cannot be, a symbol could) grows the storage.
  private mutating func reserve(_ more: Int) {
    guard count + more > storage.count else { return }
    let larger = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(2 * storage.count, count + more))
    _ = larger.initialize(fromContentsOf: storage[..<count])
    storage.deallocate()
    storage = larger
  }
}
