/// UTF-8 text written a piece at a time into storage of its own, for the writers that print a
/// line or a map element per rule: the canonical printer and the script's map elements. Each
/// piece is copied straight into the storage; appending to an array cost about a hundred
/// instructions a piece, and a line has a dozen pieces. Its writes are `@inlinable`: its callers
/// live in other modules, and a call that is not inlined costs about as much as the piece.
public struct UTF8Writer: ~Copyable {
  @usableFromInline var storage: UnsafeMutableBufferPointer<UInt8>
  @usableFromInline var written = 0

  /// How many bytes are written.
  public var count: Int { written }

  /// `capacity`: the bytes it can hold before it grows.
  public init(capacity: Int) {
    storage = .allocate(capacity: max(capacity, 64))
  }

  deinit { storage.deallocate() }

  /// Calls `body` with the bytes written.
  public func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
    body(UnsafeBufferPointer(rebasing: storage[..<written]))
  }

  /// The bytes written, as text.
  public var text: String { withBytes { String(decoding: $0, as: UTF8.self) } }

  /// Forgets the bytes written, keeping the storage.
  public mutating func removeAll() { written = 0 }

  @inlinable
  public mutating func write(_ literal: StaticString) { literal.withUTF8Buffer { write($0) } }

  @inlinable
  public mutating func write(_ text: String) {
    var text = text
    text.withUTF8 { write($0) }
  }

  @inlinable
  public mutating func write(byte: UInt8) {
    reserve(1)
    storage[written] = byte
    written += 1
  }

  @inlinable
  public mutating func write(_ bytes: UnsafeBufferPointer<UInt8>) {
    guard let source = bytes.baseAddress else { return }
    reserve(bytes.count)
    (storage.baseAddress! + written).update(from: source, count: bytes.count)
    written += bytes.count
  }

  /// `value` as `String(value)` writes it.
  @inlinable
  public mutating func write(decimal value: UInt64) {
    reserve(20)  // `UInt64.max` has 20 digits
    var digits = 1
    var rest = value / 10
    while rest > 0 { (digits, rest) = (digits + 1, rest / 10) }
    rest = value
    for index in stride(from: written + digits - 1, through: written, by: -1) {
      storage[index] = UInt8(ascii: "0") + UInt8(rest % 10)
      rest /= 10
    }
    written += digits
  }

  /// Dotted decimal.
  public mutating func write(ipv4 value: UInt32) {
    reserve(15)
    written += IPAddress.writeIPv4(value, into: UnsafeMutableBufferPointer(rebasing: storage[written...]))
  }

  /// The address as its ``IPAddress/description`` writes it.
  public mutating func write(_ address: IPAddress) {
    guard address.family == .inet else { return write(address.description) }
    write(ipv4: UInt32(truncatingIfNeeded: address.bits))
  }

  /// Makes room for `more` bytes, growing the storage when they would not fit.
  @inlinable
  mutating func reserve(_ more: Int) {
    guard written + more > storage.count else { return }
    grow(toHold: written + more)
  }

  /// Moves the bytes into storage that holds at least `needed`, twice the old at least.
  @usableFromInline
  mutating func grow(toHold needed: Int) {
    let larger = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(2 * storage.count, needed))
    _ = larger.initialize(fromContentsOf: storage[..<written])
    storage.deallocate()
    storage = larger
  }
}
