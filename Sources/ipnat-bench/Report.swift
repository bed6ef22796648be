/// One line of the results table.
struct ReportRow {
  var benchmark: String
  var rules: Int
  var ipnat: String
  var reference: String
  var ratio: String
  var target: String

  static func table(_ rows: [ReportRow]) -> String {
    var lines = ["| benchmark | rules | ipnat | compared with | ratio | target |", "|---|---:|---|---|---:|---|"]
    for row in rows {
      lines.append("| \(row.benchmark) | \(row.rules.formatted) | \(row.ipnat) | \(row.reference) | \(row.ratio) | \(row.target) |")
    }
    return lines.joined(separator: "\n")
  }
}

extension Int {
  /// `100,000`
  var formatted: String {
    let digits = Array(String(self))
    var text = ""
    for (index, digit) in digits.enumerated() {
      if index > 0, (digits.count - index) % 3 == 0 { text += "," }
      text.append(digit)
    }
    return text
  }
}

extension Double {
  /// `1.234`, `0.05`: a fixed number of decimals.
  func rounded(_ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((self * scale).rounded())
    let whole = scaled / Int(scale)
    let fraction = String(abs(scaled) % Int(scale))
    guard decimals > 0 else { return String(whole) }
    return "\(whole).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
  }
}

func median(_ values: [Double]) -> Double {
  let sorted = values.sorted()
  guard !sorted.isEmpty else { return 0 }
  return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
