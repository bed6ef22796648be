import IPNatDiagnostics
import IPNatKit
import NFTKernel

/// Load records, and compiling only the changed lines. A record file is read back whatever it
/// holds: after the format's first line, any bytes decode to nothing or to a record that its
/// own encoding decodes to again. And a file compiled whole, then edited in one line (the last
/// number of its last line with a digit, one more; or the port, or the address, it first
/// names), is patched (`IPNat.patch`) only if the patched record is the record of the edited
/// file compiled whole.
enum RecordHarness {
  static func exercise(_ bytes: [UInt8]) {
    if let record = LoadRecord(decoding: LoadRecord.header + bytes) {
      precondition(LoadRecord(decoding: record.encoded()) == record, "a record does not decode from its own encoding")
    }
    checkPatch(of: bytes)
  }

  static let scope = LoadRecord.Scope(boot: "fuzz", namespace: 1, table: "ipnat", generation: 1)

  /// The record a load of `file` leaves, if it keeps the file's source.
  static func record(of file: SourceFile) -> LoadRecord? {
    let (table, _, source) = IPNat.lowerRecordingSource(file, options: FuzzHarness.frontend, lowering: LoweringOptions(),
                                                        settings: "fuzz")
    guard let table, let source else { return nil }
    guard var kernel = try? Linearizer.linearize(table) else { fatalError("the linearizer refused a lowered table") }
    kernel.source = source
    return LoadRecord(of: kernel, in: scope)
  }

  static func checkPatch(of bytes: [UInt8]) {
    let edits = [editingLastNumber(of: bytes), editingFirstPort(of: bytes), editingFirstAddress(of: bytes)].compactMap { $0 }
    guard !edits.isEmpty, let loaded = record(of: SourceFile(name: "fuzz.conf", bytes: bytes)) else { return }
    for edited in edits {
      let file = SourceFile(name: "fuzz.conf", bytes: edited)
      guard let patched = IPNat.patch(loaded, toCompile: file, options: FuzzHarness.frontend, lowering: LoweringOptions(),
                                      settings: "fuzz")
      else { continue }
      guard let whole = record(of: file) else { fatalError("a patched file does not compile whole, or reports something") }
      precondition(patched.record.holdsTheSame(as: whole), "a patch left another record than the whole file's compile")
    }
  }

  /// `bytes` with the last byte of the first IPv4 address of its last line holding a digit
  /// made one more (255 becomes 0): in a forward, the address it matches. Nil if there is none.
  static func editingFirstAddress(of bytes: [UInt8]) -> [UInt8]? {
    let dot = UInt8(ascii: ".")
    guard let line = lastLineWithDigit(of: bytes) else { return nil }
    var start = line.start
    while start <= line.lastDigit {
      // The run of digits and dots from here: an address if it is four numbers up to 255.
      var end = start
      while end < bytes.count && (digits.contains(bytes[end]) || bytes[end] == dot) { end += 1 }
      let parts = bytes[start..<end].split(separator: dot, omittingEmptySubsequences: false)
      let values = parts.compactMap { $0.count <= 3 ? Int(String(decoding: $0, as: UTF8.self)) : nil }
      if parts.count == 4, values.count == 4, values.allSatisfy({ $0 <= 255 }) {
        return replacing(parts[3].indices, in: bytes, with: (values[3] + 1) % 256)
      }
      start = max(end, start + 1)
    }
    return nil
  }

  /// `bytes` with the number after the first `port ` of its last line holding a digit made one
  /// more: in a forward, the port it matches. Nil if there is none.
  static func editingFirstPort(of bytes: [UInt8]) -> [UInt8]? {
    guard let (lineStart, last) = lastLineWithDigit(of: bytes) else { return nil }
    let keyword = Array("port ".utf8)
    guard let found = bytes[lineStart...last].indices.first(where: { bytes[$0...].starts(with: keyword) }) else { return nil }
    let start = found + keyword.count
    var end = start
    while end < bytes.count && digits.contains(bytes[end]) { end += 1 }
    guard end > start, end - start < 9, let value = Int(String(decoding: bytes[start..<end], as: UTF8.self)) else { return nil }
    return replacing(start..<end, in: bytes, with: value + 1)
  }

  /// `bytes` with the last digit run of its last line holding a digit made one more; nil if
  /// it has no digit.
  static func editingLastNumber(of bytes: [UInt8]) -> [UInt8]? {
    guard let (_, last) = lastLineWithDigit(of: bytes) else { return nil }
    var start = last
    while start > 0 && digits.contains(bytes[start - 1]) { start -= 1 }
    guard last - start < 9, let value = Int(String(decoding: bytes[start...last], as: UTF8.self)) else { return nil }
    return replacing(start..<last + 1, in: bytes, with: value + 1)
  }

  private static let digits = UInt8(ascii: "0")...UInt8(ascii: "9")

  /// Where the last line that holds a digit starts, and where its last digit is.
  private static func lastLineWithDigit(of bytes: [UInt8]) -> (start: Int, lastDigit: Int)? {
    guard let last = bytes.lastIndex(where: digits.contains) else { return nil }
    return (bytes[..<last].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0, last)
  }

  /// `bytes` with the number at `range` written as `value`.
  private static func replacing(_ range: Range<Int>, in bytes: [UInt8], with value: Int) -> [UInt8] {
    Array(bytes[..<range.lowerBound]) + Array(String(value).utf8) + Array(bytes[range.upperBound...])
  }
}
