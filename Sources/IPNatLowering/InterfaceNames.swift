import IPNatDiagnostics
import IPNatSyntax

/// Turns ipnat.conf interface names into Linux ones: `--interface-map` renames (`le0=eth0`),
/// then Linux's rules for names are checked, because a name the kernel cannot have would make
/// the rule silently match nothing.
///
/// One for a whole file, shared by its rules: a class, so that it remembers the last name it
/// accepted. Rules name the same interface or two again and again, and comparing a name with
/// the last one costs a fraction of checking it.
final class InterfaceNames {
  let renames: [String: String]
  private var lastAccepted: String?

  init(renames: [String: String]) { self.renames = renames }

  /// The Linux name, or `nil` for `*` and `-` (any interface).
  func linuxName(_ interface: InterfaceName) throws(LoweringError) -> String? {
    if interface.isWildcard { return nil }
    // Without renames there is nothing to look up: a lookup in an empty dictionary still hashes
    // the name, and every rule names an interface or two.
    let name = renames.isEmpty ? interface.name : renames[interface.name] ?? interface.name
    if name == lastAccepted { return name }
    if let problem = Self.problem(with: name) {
      var notes: [Note] = []
      if name != interface.name { notes.append(Note("--interface-map renamed '\(interface.name)' to '\(name)'")) }
      throw LoweringError("lower.interface-name", "'\(name)' cannot be a Linux interface name: \(problem)",
                          at: interface.range, notes: notes)
    }
    lastAccepted = name
    return name
  }

  /// Why Linux (`dev_valid_name`) or nft cannot use `name`, or `nil` if both can.
  static func problem(with name: String) -> String? {
    let bytes = name.utf8
    if bytes.isEmpty { return "it is empty" }
    if bytes.count > 15 { return "Linux names have at most 15 bytes (IFNAMSIZ is 16), this one has \(bytes.count)" }
    // Every rule names an interface or two, nearly always a plain one: one pass over the bytes
    // in place tells (through the UTF-8 view, each byte costs an index check or two).
    var plainName = name
    if plainName.withUTF8({ $0.allSatisfy(isPlain) && $0.first != UInt8(ascii: ".") }) { return nil }
    if name == "." || name == ".." { return "'.' and '..' are reserved" }
    if bytes.contains(UInt8(ascii: "/")) { return "it contains '/'" }
    if bytes.contains(UInt8(ascii: ":")) { return "it contains ':' (Linux uses it for address labels)" }
    if bytes.contains(where: { $0 == 0x20 || (0x09...0x0d).contains($0) }) { return "it contains white space" }
    if bytes.contains(UInt8(ascii: "\"")) { return "nft cannot write a '\"' in a name" }
    if bytes.contains(UInt8(ascii: "*")) { return "nft reads '*' as a wildcard, which IPFilter does not" }
    return nil
  }

  /// A letter, digit, `-`, `_` or `.`: a byte none of the checks refuses.
  private static func isPlain(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
      UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
      true
    default: false
    }
  }
}
