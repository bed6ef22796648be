/// Numbers as decimal text appended to UTF-8 bytes, for the writers that print a line or a map
/// element per rule (the canonical printer, the script's map elements).
public enum DecimalText {
  /// Appends `value` as `String(value)` writes it, without making that string.
  public static func append(_ value: UInt64, to bytes: inout [UInt8]) {
    var remaining = value
    var divisor: UInt64 = 1
    while divisor <= remaining / 10 { divisor *= 10 }
    repeat {
      bytes.append(UInt8(ascii: "0") + UInt8(remaining / divisor))
      remaining %= divisor
      divisor /= 10
    } while divisor > 0
  }
}
