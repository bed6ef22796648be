import Testing

/// `Grammar/ipnat.ebnf` is the specification; each production is quoted in the doc comment of
/// the parse function that implements it. This keeps the two from drifting apart.
@Suite struct GrammarTests {
  static let grammarPath = testsDirectory + "/../../Grammar/ipnat.ebnf"
  static let parserDirectory = testsDirectory + "/../../Sources/IPNatSyntax/Parser"

  /// Productions by name, each as one line with white space folded and `(* … *)` comments removed.
  static func productions(in lines: [String]) -> [String: String] {
    var result: [String: String] = [:]
    var current: (name: String, text: [String])?
    for rawLine in lines {
      let line = withoutComments(rawLine)
      if current == nil, let equals = line.firstRange(of: " ="),
        case let name = line[..<equals.lowerBound].trimmingSpaces,
        !name.isEmpty, name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" })
      {
        current = (name, [])
      }
      guard current != nil else { continue }
      current!.text.append(line)
      if line.trimmingSpaces.hasSuffix(" ;") || line.trimmingSpaces == ";" {
        result[current!.name] = current!.text.joined(separator: " ").split(separator: " ").joined(separator: " ")
        current = nil
      }
    }
    return result
  }

  static func withoutComments(_ line: String) -> String {
    var text = line
    while let open = text.firstRange(of: "(*"), let close = text[open.upperBound...].firstRange(of: "*)") {
      text.removeSubrange(open.lowerBound..<close.upperBound)
    }
    return text
  }

  @Test func everyProductionIsImplementedByAParseFunctionThatQuotesIt() throws {
    let grammarText = try #require(readFile(Self.grammarPath))
    // Only the part after the header comment holds productions.
    let body = grammarText[grammarText.firstRange(of: "*)")!.upperBound...]
    let grammar = Self.productions(in: body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
    var docLines: [String] = []
    for name in files(in: Self.parserDirectory, endingWith: ".swift") {
      let source = try #require(readFile("\(Self.parserDirectory)/\(name)"))
      for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
        let trimmed = line.trimmingSpaces
        docLines.append(trimmed.hasPrefix("///") ? String(trimmed.dropFirst(3)) : "")
      }
    }
    let documented = Self.productions(in: docLines)
    #expect(grammar.count >= 40)
    for (name, text) in grammar.sorted(by: { $0.key < $1.key }) {
      #expect(documented[name] == text, "production '\(name)' differs between ipnat.ebnf and the parser")
    }
    #expect(Set(documented.keys) == Set(grammar.keys))
  }
}

extension StringProtocol {
  var trimmingSpaces: String {
    String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
  }
}
