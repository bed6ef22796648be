/// What a loaded table was compiled from, kept in its load record (`LoadRecord`): enough to
/// tell, at the next load, which lines of the file changed, and whether compiling those alone
/// is sure to give what compiling the whole file would.
public struct CompiledSource: Sendable, Hashable {
  /// The file's name as rules' comments give it.
  public var path: String
  /// Everything besides the file that the compile depended on (options, predefined
  /// variables), as one text: a load with other settings compiles the whole file.
  public var settings: String
  /// The file's bytes, as compiled.
  public var text: [UInt8]
  /// One bit per line (line 1 is bit 0 of byte 0): set for a line on which exactly one rule
  /// starts and ends, and no other rule lies. (A line compiled alone is read again, and must
  /// hold that rule and nothing else.)
  public var singleStatementLines: [UInt8]
  /// ``textHash(_:)`` of every rule's canonical form, sorted: the compile refuses a rule
  /// that repeats another.
  public var ruleTextHashes: [UInt64]
  /// Each map of folded rules by name, with the lines of its rules (``NamedMap/memberLines``).
  public var foldedLines: [String: [Int]]
  /// The variables every rule was read with, unexpanded: the file defines them all before its
  /// first rule, and a line compiled alone is read with them.
  public var variables: [String: String]
  /// Every NAT-chain rule's footprint, the packets it can match, in search order (as
  /// IPNatLowering's `FootprintRecord` writes them): whether a line's matched port or address
  /// may change without moving another rule is read from them.
  public var footprints: [UInt8]

  public init(path: String, settings: String, text: [UInt8], singleStatementLines: [UInt8], ruleTextHashes: [UInt64],
              foldedLines: [String: [Int]], variables: [String: String] = [:], footprints: [UInt8] = []) {
    (self.path, self.settings, self.text) = (path, settings, text)
    (self.singleStatementLines, self.ruleTextHashes, self.foldedLines) = (singleStatementLines, ruleTextHashes, foldedLines)
    (self.variables, self.footprints) = (variables, footprints)
  }

  /// The maps that rules of `line` were folded into.
  public func maps(foldingLine line: Int) -> [String] {
    foldedLines.keys.sorted().filter { foldedLines[$0]!.contains(line) }
  }

  /// Whether line `line` (1-based) holds exactly one whole rule.
  public func holdsOneRule(line: Int) -> Bool {
    let index = line - 1
    guard index >= 0, index / 8 < singleStatementLines.count else { return false }
    return singleStatementLines[index / 8] & (1 << (index % 8)) != 0
  }

  /// A rule's canonical form, hashed the same way in every process (FNV-1a, 64 bits): equal
  /// texts have equal hashes; unequal texts almost never do, and when they do, a changed line
  /// only seems to repeat a rule, and the whole file is compiled.
  public static func textHash(_ text: String) -> UInt64 {
    var text = text
    return text.withUTF8 { bytes in
      var hash: UInt64 = 0xcbf2_9ce4_8422_2325
      for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
      return hash
    }
  }
}
