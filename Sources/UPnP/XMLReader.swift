/// A strict reader of the XML that UPnP control carries: UTF-8, elements, attributes, namespaces,
/// character data, CDATA and comments, and the five predefined entities and character
/// references. A document type declaration, any other entity, a processing instruction after
/// the XML declaration, a mismatched tag or text outside the root is an error, never
/// recovered from. Bounded in depth and size, so a hostile document costs no more than its
/// bytes. (Foundation's XMLParser was tried first: it runs libxml2 in recovery mode, traps on a
/// name that is not UTF-8, and leaks on every malformed document, which a daemon cannot have.)
public enum XMLReader {
  public struct Element: Sendable, Equatable {
    /// The local name, without its prefix.
    public var name: String
    /// The namespace the prefix (or the default namespace) stands for; nil for none.
    public var namespace: String?
    public var attributes: [String: String]
    public var children: [Element]
    /// The character data directly inside, joined.
    public var text: String

    public func child(_ name: String, namespace: String? = nil) -> Element? {
      children.first { $0.name == name && (namespace == nil || $0.namespace == namespace) }
    }
  }

  public struct Failure: Error, Equatable, CustomStringConvertible {
    public var reason: String
    /// Byte offset in the document.
    public var offset: Int
    public var description: String { "\(reason) at byte \(offset)" }
  }

  static let maximumDepth = 32
  static let maximumElements = 4096

  /// The root element of `bytes`.
  public static func read(_ bytes: [UInt8]) -> Result<XMLReader.Element, Failure> {
    var reader = Reader(bytes: bytes)
    do {
      return .success(try reader.document())
    } catch {
      return .failure(error)
    }
  }
}

private struct Reader {
  let bytes: [UInt8]
  var index = 0
  var elements = 0

  init(bytes: [UInt8]) { self.bytes = bytes }

  typealias Failure = XMLReader.Failure

  func fail(_ reason: String) -> Failure { Failure(reason: reason, offset: index) }

  var atEnd: Bool { index >= bytes.count }

  func starts(with text: String) -> Bool {
    let utf8 = Array(text.utf8)
    return bytes.count - index >= utf8.count && Array(bytes[index..<index + utf8.count]) == utf8
  }

  mutating func expect(_ text: String) throws(Failure) {
    guard starts(with: text) else { throw fail("expected '\(text)'") }
    index += text.utf8.count
  }

  mutating func skipSpace() {
    while !atEnd, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[index]) { index += 1 }
  }

  // MARK: - Document

  mutating func document() throws(Failure) -> XMLReader.Element {
    guard String(validating: bytes, as: UTF8.self) != nil else { throw Failure(reason: "not UTF-8", offset: 0) }
    if starts(with: "\u{FEFF}") { index += 3 }
    if starts(with: "<?xml") { try declaration() }
    try miscellany()
    guard starts(with: "<"), !starts(with: "</") else { throw fail("expected the root element") }
    let root = try element(depth: 1, scope: [:])
    try miscellany()
    guard atEnd else { throw fail("content after the root element") }
    return root
  }

  /// `<?xml version="1.0" encoding="UTF-8"?>`: UTF-8 is the only encoding read.
  mutating func declaration() throws(Failure) {
    guard let end = find("?>") else { throw fail("an unterminated XML declaration") }
    let text = String(decoding: bytes[index..<end], as: UTF8.self).lowercased()
    if let encoding = text.firstRange(of: "encoding") {
      let value = text[encoding.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "'" }
      guard value.hasPrefix("utf-8") else { throw fail("an encoding other than UTF-8") }
    }
    index = end + 2
  }

  /// Space and comments between the declaration, the root and the end.
  mutating func miscellany() throws(Failure) {
    while true {
      skipSpace()
      if starts(with: "<!--") {
        try comment()
      } else if starts(with: "<!DOCTYPE") {
        throw fail("a document type declaration")
      } else if starts(with: "<?") {
        throw fail("a processing instruction")
      } else {
        return
      }
    }
  }

  mutating func comment() throws(Failure) {
    index += 4
    guard let end = find("-->") else { throw fail("an unterminated comment") }
    index = end + 3
  }

  func find(_ text: String) -> Int? {
    let utf8 = Array(text.utf8)
    var position = index
    while position + utf8.count <= bytes.count {
      if bytes[position] == utf8[0], Array(bytes[position..<position + utf8.count]) == utf8 { return position }
      position += 1
    }
    return nil
  }

  // MARK: - Elements

  /// An element at `<`, with the namespace prefixes in force around it.
  mutating func element(depth: Int, scope: [String: String]) throws(Failure) -> XMLReader.Element {
    guard depth <= XMLReader.maximumDepth else { throw fail("elements nested too deep") }
    elements += 1
    guard elements <= XMLReader.maximumElements else { throw fail("too many elements") }
    index += 1
    let qualifiedName = try name()
    var rawAttributes: [(String, String)] = []
    var closed = false
    while true {
      let hadSpace = !atEnd && [0x20, 0x09, 0x0a, 0x0d].contains(bytes[index])
      skipSpace()
      if starts(with: "/>") {
        index += 2
        closed = true
        break
      }
      if starts(with: ">") {
        index += 1
        break
      }
      guard hadSpace else { throw fail("expected a space before an attribute") }
      let attribute = try name()
      skipSpace()
      try expect("=")
      skipSpace()
      let value = try quoted()
      guard !rawAttributes.contains(where: { $0.0 == attribute }) else { throw fail("attribute \(attribute) given twice") }
      rawAttributes.append((attribute, value))
    }
    var scope = scope
    var attributes: [String: String] = [:]
    for (attribute, value) in rawAttributes {
      if attribute == "xmlns" {
        scope[""] = value
      } else if attribute.hasPrefix("xmlns:") {
        scope[String(attribute.dropFirst(6))] = value
      } else {
        attributes[attribute] = value
      }
    }
    let (prefix, local) = split(qualifiedName)
    var namespace = scope[""]
    if let prefix {
      guard let bound = scope[prefix] else { throw fail("an undeclared prefix \(prefix)") }
      namespace = bound
    }
    var result = XMLReader.Element(name: local, namespace: namespace, attributes: attributes, children: [], text: "")
    if closed { return result }
    try content(of: &result, qualifiedName: qualifiedName, depth: depth, scope: scope)
    return result
  }

  /// Character data and child elements, up to the matching end tag.
  mutating func content(of element: inout XMLReader.Element, qualifiedName: String, depth: Int,
                        scope: [String: String]) throws(Failure) {
    while true {
      guard !atEnd else { throw fail("an unterminated element \(qualifiedName)") }
      if starts(with: "</") {
        index += 2
        guard try name() == qualifiedName else { throw fail("an end tag that does not match \(qualifiedName)") }
        skipSpace()
        try expect(">")
        return
      } else if starts(with: "<!--") {
        try comment()
      } else if starts(with: "<![CDATA[") {
        index += 9
        guard let end = find("]]>") else { throw fail("an unterminated CDATA section") }
        element.text += String(decoding: bytes[index..<end], as: UTF8.self)
        index = end + 3
      } else if starts(with: "<!") || starts(with: "<?") {
        throw fail("a declaration or processing instruction inside an element")
      } else if starts(with: "<") {
        element.children.append(try self.element(depth: depth + 1, scope: scope))
      } else {
        element.text += try characters()
      }
    }
  }

  /// Text up to the next `<`, references resolved.
  mutating func characters() throws(Failure) -> String {
    var text: [UInt8] = []
    while !atEnd, bytes[index] != UInt8(ascii: "<") {
      if bytes[index] == UInt8(ascii: "&") {
        text += try reference()
      } else {
        text.append(bytes[index])
        index += 1
      }
    }
    return String(decoding: text, as: UTF8.self)
  }

  /// An attribute value in `"` or `'`; `<` is not allowed in it.
  mutating func quoted() throws(Failure) -> String {
    guard !atEnd, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
      throw fail("expected a quoted value")
    }
    let quote = bytes[index]
    index += 1
    var value: [UInt8] = []
    while true {
      guard !atEnd else { throw fail("an unterminated attribute value") }
      let byte = bytes[index]
      if byte == quote { break }
      if byte == UInt8(ascii: "<") { throw fail("'<' in an attribute value") }
      if byte == UInt8(ascii: "&") {
        value += try reference()
      } else {
        value.append(byte)
        index += 1
      }
    }
    index += 1
    return String(decoding: value, as: UTF8.self)
  }

  /// `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` `&#N;` `&#xH;`: any other entity is undeclared,
  /// as no document here declares one.
  mutating func reference() throws(Failure) -> [UInt8] {
    guard let semicolon = bytes[index...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
      throw fail("an unterminated reference")
    }
    let name = String(decoding: bytes[(index + 1)..<semicolon], as: UTF8.self)
    let predefined = ["lt": "<", "gt": ">", "amp": "&", "quot": "\"", "apos": "'"]
    var value: String
    if let text = predefined[name] {
      value = text
    } else if name.hasPrefix("#") {
      let digits = name.dropFirst()
      let number = digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
      guard let number, let scalar = Unicode.Scalar(number), Self.isCharacter(scalar) else {
        throw fail("a reference to no character")
      }
      value = String(Character(scalar))
    } else {
      throw fail("an undeclared entity \(name)")
    }
    index = semicolon + 1
    return Array(value.utf8)
  }

  /// XML 1.0's Char production.
  static func isCharacter(_ scalar: Unicode.Scalar) -> Bool {
    [0x9, 0xA, 0xD].contains(scalar.value) || (0x20...0xD7FF).contains(scalar.value)
      || (0xE000...0xFFFD).contains(scalar.value) || (0x10000...0x10FFFF).contains(scalar.value)
  }

  /// A name: letters, digits and `_ - . :`, and any non-ASCII character, not starting with a
  /// digit, `-` or `.`.
  mutating func name() throws(Failure) -> String {
    let start = index
    while !atEnd {
      let byte = bytes[index]
      let isNameByte = byte >= 0x80 || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
        || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        || [UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ":")].contains(byte)
      guard isNameByte else { break }
      index += 1
    }
    guard index > start else { throw fail("expected a name") }
    let first = bytes[start]
    guard !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")), first != UInt8(ascii: "-"), first != UInt8(ascii: ".")
    else { throw fail("a name that starts with a digit, '-' or '.'") }
    return String(decoding: bytes[start..<index], as: UTF8.self)
  }

  /// `prefix:local`, or a name without prefix.
  func split(_ name: String) -> (prefix: String?, local: String) {
    guard let colon = name.firstIndex(of: ":") else { return (nil, name) }
    return (String(name[..<colon]), String(name[name.index(after: colon)...]))
  }
}
