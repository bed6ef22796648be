import IPAddressing
import IPNatDiagnostics
import JSONText
import NFTModel

/// `ipnat test`: each packet line evaluated, its expectation checked, and the answers written
/// as text (in the spirit of ipftest's) or JSON.
public enum PacketTest {
  public struct Answer: Sendable {
    public var line: PacketLine
    public var evaluation: Evaluator.Evaluation
    /// The diagnostic for an expectation the packet does not meet.
    public var unmet: Diagnostic?
  }

  public static func run(_ lines: [PacketLine], table: Table, options: Evaluator.Options) -> [Answer] {
    let evaluator = Evaluator(table: table, options: options)
    return lines.map { line in
      let evaluation = evaluator.evaluate(line.packet)
      return Answer(line: line, evaluation: evaluation, unmet: check(line, evaluation))
    }
  }

  /// A line's expectation holds when every outcome the kernel may choose meets it: a range is
  /// met only by `*`.
  static func check(_ line: PacketLine, _ evaluation: Evaluator.Evaluation) -> Diagnostic? {
    guard let expectation = line.expectation else { return nil }
    guard !evaluation.outcomes.isEmpty else {
      return Diagnostic(TestDiagnostics.unmetExpectation,
                        "ipnat cannot tell what Linux makes of this packet: \(evaluation.notes.joined(separator: "; "))",
                        at: line.expectationRange)
    }
    let met = evaluation.outcomes.allSatisfy { outcome in
      switch expectation {
      case .unchanged:
        return outcome.source == Run.choice(line.packet.source) && outcome.destination == Run.choice(line.packet.destination)
      case .translated(let source, let destination):
        return matches(source, outcome.source) && matches(destination, outcome.destination)
      }
    }
    guard !met else { return nil }
    let got = evaluation.outcomes.map { "\($0.source) \($0.destination)" }.joined(separator: " or ")
    let wanted = switch expectation {
    case .unchanged: "unchanged"
    case .translated(let source, let destination): "\(source) \(destination)"
    }
    return Diagnostic(TestDiagnostics.unmetExpectation, "expected \(wanted), but Linux makes it \(got.isEmpty ? "nothing" : got)",
                      at: line.expectationRange,
                      notes: evaluation.outcomes.flatMap { [$0.rule, $0.secondRule].compactMap { $0 } }
                        .map { Note("translated by \($0.reference)") })
  }

  private static func matches(_ pattern: Expectation.Pattern, _ choice: Evaluator.EndpointChoice) -> Bool {
    if let address = pattern.address, choice.address != .exactly(address) { return false }
    if let port = pattern.port, choice.ports != port...port { return false }
    return true
  }

  // MARK: - Text

  /// ```
  /// packets.txt:3: in on ppp0 tcp 198.51.100.7,40000 203.0.113.5,443
  ///   translated by home-gateway.conf:25: rdr ppp0 0/0 port 443 -> 192.168.1.10/32 port 443 tcp
  ///   -> 198.51.100.7,40000 192.168.1.10,443
  /// ```
  public static func text(_ answers: [Answer], packetsFile: String) -> String {
    answers.map { answer in
      var lines = ["\(packetsFile):\(answer.line.line): \(answer.line.packet.description)"]
      for outcome in answer.evaluation.outcomes {
        if let rule = outcome.rule {
          lines.append("  translated by \(rule.reference)")
          if let second = outcome.secondRule { lines.append("  and by \(second.reference)") }
          lines.append("  -> \(outcome.source) \(outcome.destination)")
        } else if !outcome.beginsConnection {
          lines.append("  not translated: it begins no connection, and Linux translates an ICMP error or reply only "
            + "with the connection it quotes or answers")
        } else if let stop = outcome.stoppedBy {
          lines.append("  not translated: the search stops at \(stop.reference)")
        } else {
          lines.append("  not translated: no rule matches")
        }
      }
      if answer.evaluation.outcomes.isEmpty { lines.append("  cannot tell: see the notes") }
      lines += answer.evaluation.notes.map { "  note: \($0)" }
      return lines.joined(separator: "\n") + "\n"
    }.joined()
  }

  // MARK: - JSON

  /// One object per packet: its line, its packet, and each possible outcome with the rule's
  /// file and line (null when untranslated) and the translated endpoints.
  public static func json(_ answers: [Answer], packetsFile: String) -> String {
    JSONValue.array(answers.map { answer in
      var members: [(String, JSONValue)] = [
        ("file", .string(packetsFile)), ("line", .integer(answer.line.line)),
        ("packet", .string(answer.line.packet.description)),
        ("outcomes", .array(answer.evaluation.outcomes.map(outcome))),
      ]
      if answer.line.expectation != nil { members.append(("expectationMet", .bool(answer.unmet == nil))) }
      if !answer.evaluation.notes.isEmpty { members.append(("notes", .array(answer.evaluation.notes.map { .string($0) }))) }
      return .object(members)
    }).serialized + "\n"
  }

  private static func outcome(_ outcome: Evaluator.Outcome) -> JSONValue {
    .object([
      ("translated", .bool(outcome.isTranslated)),
      ("rule", outcome.rule.map(origin) ?? .null),
      ("secondRule", outcome.secondRule.map(origin) ?? .null),
      ("stoppedBy", outcome.stoppedBy.map { rule in .object([("file", .string(rule.file)), ("line", .integer(rule.line))]) } ?? .null),
      ("beginsConnection", .bool(outcome.beginsConnection)),
      ("source", endpoint(outcome.source)),
      ("destination", endpoint(outcome.destination)),
    ])
  }

  private static func origin(_ rule: Origin) -> JSONValue {
    .object([("file", .string(rule.file)), ("line", .integer(rule.line)), ("text", .string(rule.text))])
  }

  /// `{"address": "192.0.2.1", "port": 443}`; a range as `"low-high"`.
  private static func endpoint(_ choice: Evaluator.EndpointChoice) -> JSONValue {
    let port: JSONValue = choice.ports.map { $0.count == 1 ? .integer($0.lowerBound) : .string("\($0.lowerBound)-\($0.upperBound)") }
      ?? .null
    return .object([("address", .string(choice.address.description)), ("port", port)])
  }
}

extension Origin {
  /// `FILE:LINE: RULE`, as the report names a rule.
  fileprivate var reference: String { "\(file):\(line): \(text)" }
}
