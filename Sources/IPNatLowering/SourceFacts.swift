import IPNatDiagnostics
import NFTModel

/// What a load record keeps of a compiled file besides its text (`CompiledSource`), worked
/// out while lowering it when ``LoweringOptions/recordsSourceFacts`` asks: which lines hold
/// one rule whole, and every rule's canonical form, hashed.
public struct SourceFacts: Sendable {
  /// One bit per line, line 1 in bit 0 of byte 0 (`CompiledSource/singleStatementLines`).
  public var singleStatementLines: [UInt8]
  /// `CompiledSource.textHash` of each rule's canonical form, sorted.
  public var ruleTextHashes: [UInt64]
  /// Where the file's first rule starts; nil for a file without rules.
  public var firstRuleStart: Int?
  /// Every NAT-chain rule's footprint, as ``FootprintRecord`` writes them.
  public var footprints: [UInt8] = []
}

/// Which lines hold exactly one rule, whole: a rule that spans lines, or shares its line with
/// another, or takes turns with others (round-robin), spoils every line it is on.
struct LineOccupancy {
  private var single: [UInt8]
  private var spoilt: [UInt8]
  /// Where the first rule starts.
  private(set) var firstRuleStart: Int?

  init(lineCount: Int) {
    single = [UInt8](repeating: 0, count: (lineCount + 7) / 8)
    spoilt = single
  }

  /// Notes a rule at `range`; `alone`: false for a rule whose lowering depends on others.
  mutating func add(_ range: SourceRange, in file: SourceFile, alone: Bool = true) {
    firstRuleStart = min(firstRuleStart ?? range.start, range.start)
    let first = file.location(of: range.start).line
    let last = file.location(of: max(range.start, range.end - 1)).line
    if first == last, alone, !Self.isSet(single, first) {
      Self.set(&single, first)
      return
    }
    for line in first...last { Self.set(&spoilt, line) }
  }

  var lines: [UInt8] { zip(single, spoilt).map { $0 & ~$1 } }

  private static func isSet(_ bits: [UInt8], _ line: Int) -> Bool {
    let index = line - 1
    return index / 8 < bits.count && bits[index / 8] & (1 << (index % 8)) != 0
  }

  private static func set(_ bits: inout [UInt8], _ line: Int) {
    let index = line - 1
    guard index >= 0, index / 8 < bits.count else { return }
    bits[index / 8] |= 1 << (index % 8)
  }
}
