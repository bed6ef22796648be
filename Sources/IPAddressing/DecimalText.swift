/// Numbers as decimal text appended to UTF-8 bytes, for the writers that print a line or a map
/// element per rule (the canonical printer, the script's map elements).
public enum DecimalText {
  /// Appends `value` as `String(value)` writes it, without making that string.
  public static func append(_ value: UInt64, to bytes: inout [UInt8]) {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maximumDigits) { digits in
      bytes.append(contentsOf: digits[..<write(value, into: digits.baseAddress!)])
    }
  }

  /// The most digits a value has: `UInt64.max` has 20.
  public static let maximumDigits = 20

  /// Writes `value` as `String(value)` writes it at the start of `buffer`, which has room for
  /// ``maximumDigits``; returns the count.
  public static func write(_ value: UInt64, into buffer: UnsafeMutablePointer<UInt8>) -> Int {
    var digits = 1
    var rest = value / 10
    while rest > 0 { (digits, rest) = (digits + 1, rest / 10) }
    rest = value
    for index in stride(from: digits - 1, through: 0, by: -1) {
      buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
      rest /= 10
    }
    return digits
  }
}
