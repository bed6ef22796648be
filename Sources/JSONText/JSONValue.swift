/// A JSON value with ordered object keys, so emitted documents are stable and diffable.
/// Shared by the nft JSON emitter and lint's machine-readable reports.
public indirect enum JSONValue: Sendable, Hashable {
  case object([Member])
  case array([JSONValue])
  case string(String)
  case number(Int64)
  case bool(Bool)
  case null

  /// One `"key": value` pair of an object.
  public struct Member: Sendable, Hashable {
    public var key: String
    public var value: JSONValue

    public init(_ key: String, _ value: JSONValue) {
      self.key = key
      self.value = value
    }
  }

  public static func object(_ members: [(String, JSONValue)]) -> JSONValue {
    .object(members.map { Member($0.0, $0.1) })
  }

  public static func integer<T: BinaryInteger>(_ value: T) -> JSONValue { .number(Int64(value)) }

  /// The value on one line, with a space after each `:` and `,`.
  public var serialized: String {
    switch self {
    case .object(let members):
      "{" + members.map { "\(JSONValue.quote($0.key)): \($0.value.serialized)" }.joined(separator: ", ") + "}"
    case .array(let elements): "[" + elements.map(\.serialized).joined(separator: ", ") + "]"
    case .string(let text): JSONValue.quote(text)
    case .number(let value): String(value)
    case .bool(let value): value ? "true" : "false"
    case .null: "null"
    }
  }

  /// The value indented by two spaces per level, for documents people read (SARIF, lint JSON).
  public func pretty(indent: String = "") -> String {
    let inner = indent + "  "
    switch self {
    case .object(let members) where !members.isEmpty:
      let lines = members.map { inner + JSONValue.quote($0.key) + ": " + $0.value.pretty(indent: inner) }
      return "{\n" + lines.joined(separator: ",\n") + "\n" + indent + "}"
    case .array(let elements) where !elements.isEmpty:
      return "[\n" + elements.map { inner + $0.pretty(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
    default:
      return serialized
    }
  }

  public static func quote(_ text: String) -> String {
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
