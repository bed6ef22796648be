import IPNatDiagnostics

/// ipnat.conf variables (`name = "value";`, used as `$name` or `${name}`), after IPFilter's
/// `lib/var.c`: values are stored as written and expanded when used, recursively; `$$` is a
/// literal dollar sign; a later definition replaces an earlier one.
public struct VariableTable: Sendable {
  public struct Definition: Sendable, Hashable {
    public var value: String
    /// Where it was defined; `nil` for `-D NAME=VALUE` and `IPNAT_PREDEFINED`.
    public var range: SourceRange?
  }

  /// How deeply variables may refer to variables. IPFilter has no limit and recurses until
  /// its stack runs out; a chain this long is a mistake, not a configuration.
  public static let maximumDepth = 64
  /// The longest text one reference may expand to (`a = "$b$b"; b = "$c$c"; …` doubles per level).
  public static let maximumExpansionBytes = 1 << 20

  public private(set) var definitions: [String: Definition] = [:]

  public init() {}

  public mutating func define(_ name: String, value: String, at range: SourceRange?) {
    definitions[name] = Definition(value: value, range: range)
  }

  public func definitionRange(of name: String) -> SourceRange? { definitions[name]?.range }

  /// Whether `name` can be a variable name: a letter, then letters, digits and underscores.
  public static func isValidName(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, first.isASCIILetter else { return false }
    return name.unicodeScalars.allSatisfy { $0.isASCIILetter || ("0"..."9").contains($0) || $0 == "_" }
  }

  public enum Expansion: Sendable {
    case success(String)
    case failure(Diagnostic)
  }

  /// The fully expanded value of `name`, referenced at `reference`.
  public func expand(_ name: String, at reference: SourceRange) -> Expansion {
    var chain: [String] = []
    do {
      return .success(try expand(name, chain: &chain, reference: reference))
    } catch {
      return .failure(error.diagnostic)
    }
  }

  private struct ExpansionError: Error {
    var diagnostic: Diagnostic
  }

  private func expand(_ name: String, chain: inout [String], reference: SourceRange) throws(ExpansionError) -> String {
    guard let definition = definitions[name] else {
      var notes: [Note] = []
      if let user = chain.last { notes.append(Note("used in the value of '\(user)'", at: definitions[user]?.range)) }
      throw ExpansionError(diagnostic: .error("var.undefined", "undefined variable '\(name)'", at: reference,
                                              notes: notes))
    }
    if chain.contains(name) {
      let cycle = (chain.drop(while: { $0 != name }) + [name]).joined(separator: " -> ")
      throw ExpansionError(diagnostic: .error("var.cycle", "variable '\(name)' refers to itself: \(cycle)",
                                              at: reference, notes: defined(name)))
    }
    guard chain.count < VariableTable.maximumDepth else {
      throw ExpansionError(diagnostic: .error(
        "var.too-deep", "variables nest more than \(VariableTable.maximumDepth) levels deep", at: reference,
        notes: [Note("the chain starts \(chain.prefix(4).joined(separator: " -> ")) -> …")]))
    }
    chain.append(name)
    defer { chain.removeLast() }

    var result = ""
    let value = definition.value.unicodeScalars
    var index = value.startIndex
    while index < value.endIndex {
      let scalar = value[index]
      index = value.index(after: index)
      guard scalar == "$" else { result.unicodeScalars.append(scalar); continue }
      if index < value.endIndex, value[index] == "$" {
        result += "$"
        index = value.index(after: index)
        continue
      }
      let (inner, next) = VariableTable.referencedName(in: value, at: index)
      guard let inner else { result += "$"; continue }
      index = next
      result += try expand(inner, chain: &chain, reference: reference)
      guard result.utf8.count <= VariableTable.maximumExpansionBytes else {
        throw ExpansionError(diagnostic: .error(
          "var.too-long", "variable '\(name)' expands to more than \(VariableTable.maximumExpansionBytes) bytes",
          at: reference, notes: defined(name)))
      }
    }
    return result
  }

  private func defined(_ name: String) -> [Note] {
    definitions[name]?.range.map { [Note("'\(name)' is defined here", at: $0)] } ?? []
  }

  /// The names a value refers to with `$name` or `${name}` (`$$` is a literal dollar sign).
  public static func references(in value: String) -> [String] {
    let scalars = value.unicodeScalars
    var names: [String] = []
    var index = scalars.startIndex
    while index < scalars.endIndex {
      let scalar = scalars[index]
      index = scalars.index(after: index)
      guard scalar == "$", index < scalars.endIndex else { continue }
      if scalars[index] == "$" {
        index = scalars.index(after: index)
        continue
      }
      let (name, next) = referencedName(in: scalars, at: index)
      if let name { names.append(name) }
      index = next
    }
    return names
  }

  /// Reads `name` or `{name}` starting at `index`; returns the name and the index after it.
  private static func referencedName(
    in value: String.UnicodeScalarView, at index: String.UnicodeScalarView.Index
  ) -> (String?, String.UnicodeScalarView.Index) {
    var cursor = index
    let braced = cursor < value.endIndex && value[cursor] == "{"
    if braced { cursor = value.index(after: cursor) }
    var name = ""
    while cursor < value.endIndex {
      let scalar = value[cursor]
      let allowed = name.isEmpty ? scalar.isASCIILetter
        : scalar.isASCIILetter || ("0"..."9").contains(scalar) || scalar == "_"
      guard allowed else { break }
      name.unicodeScalars.append(scalar)
      cursor = value.index(after: cursor)
    }
    if braced {
      guard cursor < value.endIndex, value[cursor] == "}" else { return (nil, index) }
      cursor = value.index(after: cursor)
    }
    return name.isEmpty ? (nil, index) : (name, cursor)
  }
}

extension Unicode.Scalar {
  var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
