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
    var text = ""
    write(to: &text)
    return text
  }

  /// Appends ``serialized`` to `text`, written in place: a document of a large table is
  /// megabytes, and joining the text of each value would copy it once per level.
  public func write(to text: inout String) {
    switch self {
    case .object(let members):
      text += "{"
      for (index, member) in members.enumerated() {
        if index > 0 { text += ", " }
        JSONValue.appendQuoted(member.key, to: &text)
        text += ": "
        member.value.write(to: &text)
      }
      text += "}"
    case .array(let elements):
      text += "["
      for (index, element) in elements.enumerated() {
        if index > 0 { text += ", " }
        element.write(to: &text)
      }
      text += "]"
    case .string(let string): JSONValue.appendQuoted(string, to: &text)
    case .number(let value): text += String(value)
    case .bool(let value): text += value ? "true" : "false"
    case .null: text += "null"
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
    var result = ""
    appendQuoted(text, to: &result)
    return result
  }

  static func appendQuoted(_ string: String, to text: inout String) {
    text += "\""
    // Nearly every string (names, addresses, comments) needs no escape: it is copied whole.
    guard string.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
      text += string
      text += "\""
      return
    }
    for scalar in string.unicodeScalars {
      switch scalar {
      case "\"": text += "\\\""
      case "\\": text += "\\\\"
      case "\n": text += "\\n"
      case "\r": text += "\\r"
      case "\t": text += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: text.unicodeScalars.append(scalar)
      }
    }
    text += "\""
  }
}
