import Foundation

/// Edits an administrator makes: a rule deleted, duplicated elsewhere, two rules swapped, or a
/// number in a rule changed. Some edits make a file that does not compile; the test skips them.
public enum RandomEdit {
  public static func apply(to text: String, using random: inout SplitMix64) -> String {
    switch random.next(below: 4) {
    case 0: return editLines(of: text, using: &random) { lines, rules, random in
        lines.remove(at: rules[random.next(below: rules.count)])
      }
    case 1: return editLines(of: text, using: &random) { lines, rules, random in
        lines.insert(lines[rules[random.next(below: rules.count)]], at: rules[random.next(below: rules.count)])
      }
    case 2: return editLines(of: text, using: &random) { lines, rules, random in
        lines.swapAt(rules[random.next(below: rules.count)], rules[random.next(below: rules.count)])
      }
    default: return bumpNumber(in: text, using: &random)
    }
  }

  /// One number of one rule, one higher (or lower, from 254 up: addresses stay addresses).
  public static func bumpNumber(in text: String, using random: inout SplitMix64) -> String {
    changeNumber(in: text, using: &random) { value, _ in value >= 254 ? value - 1 : value + 1 }
  }

  /// One number of one rule replaced by what `replacement` makes of it.
  public static func changeNumber(in text: String, using random: inout SplitMix64,
                                  to replacement: (Int, inout SplitMix64) -> Int) -> String {
    editLines(of: text, using: &random) { lines, rules, random in
      let index = rules[random.next(below: rules.count)]
      var line = Array(lines[index])
      var numbers: [Range<Int>] = []
      var start: Int?
      for position in 0...line.count {
        let isDigit = position < line.count && line[position].isASCII && line[position].isNumber
        if isDigit, start == nil { start = position }
        if !isDigit, let first = start {
          numbers.append(first..<position)
          start = nil
        }
      }
      guard !numbers.isEmpty else { return }
      let range = numbers[random.next(below: numbers.count)]
      let value = Int(String(line[range])) ?? 0
      line.replaceSubrange(range, with: Array(String(replacement(value, &random))))
      lines[index] = String(line)
    }
  }

  /// Applies `change` to the file's lines, given the indices of its rule lines (not blank, not
  /// a comment).
  private static func editLines(of text: String, using random: inout SplitMix64,
                                _ change: (inout [String], [Int], inout SplitMix64) -> Void) -> String {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let rules = lines.indices.filter {
      let line = lines[$0].trimmingCharacters(in: .whitespaces)
      return !line.isEmpty && !line.hasPrefix("#")
    }
    guard !rules.isEmpty else { return text }
    change(&lines, rules, &random)
    return lines.joined(separator: "\n")
  }
}
