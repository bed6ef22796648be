/// A JSON value with ordered object keys, so emitted documents are stable and diffable.
indirect enum JSONValue: Sendable {
  case object([(String, JSONValue)])
  case array([JSONValue])
  case string(String)
  case number(Int64)
  case null

  static func integer<T: BinaryInteger>(_ value: T) -> JSONValue { .number(Int64(value)) }

  var serialized: String {
    switch self {
    case .object(let members):
      "{" + members.map { "\(JSONValue.quote($0.0)): \($0.1.serialized)" }.joined(separator: ", ") + "}"
    case .array(let elements): "[" + elements.map(\.serialized).joined(separator: ", ") + "]"
    case .string(let text): JSONValue.quote(text)
    case .number(let value): String(value)
    case .null: "null"
    }
  }

  static func quote(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": result += "\\\""
      case "\\": result += "\\\\"
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result + "\""
  }
}
