/// A file of `Tests/IPNatLoweringTests/RealConfigurations`: rules from a real ipnat.conf, one
/// rule a line, the file's first lines naming its source. A rule ipnat refuses is marked on the
/// line before it with the error it gets and why: `#! refused by IPFilter [ID]: why`,
/// `#! refused on Linux [ID]: why`, or `#! refused where IPFilter fails silently [ID]: why`.
/// The lowering tests check each rule, the loader tests load the file less its refused rules,
/// and the packet tests send traffic through it.
public struct RealConfiguration: Sendable {
  public static let directory = TestSupport.directory() + "/../IPNatLoweringTests/RealConfigurations"
  public static let names = files(in: directory, endingWith: ".conf")

  public enum Reason: String, CaseIterable, Sendable {
    case ipfilterRefuses = "by IPFilter"
    case linuxCannot = "on Linux"
    case ipfilterFailsSilently = "where IPFilter fails silently"
  }

  public struct Refusal: Sendable {
    public let reason: Reason
    public let id: String
  }

  /// One rule, with the refusal its marker expects.
  public struct Entry: Sendable {
    public let line: Int
    public let text: String
    public let refusal: Refusal?
  }

  public let name: String
  public let entries: [Entry]

  /// Reads `name` from the corpus; nil when it cannot be read or a marker names no reason.
  public init?(_ name: String) {
    guard let text = readFile("\(Self.directory)/\(name)") else { return nil }
    var entries: [Entry] = []
    var marker: Refusal?
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      if line.hasPrefix("#! refused ") {
        guard let reason = Reason.allCases.first(where: { line.hasPrefix("#! refused \($0.rawValue) [") }) else { return nil }
        let id = line.drop { $0 != "[" }.dropFirst().prefix { $0 != "]" }
        marker = Refusal(reason: reason, id: String(id))
      } else if !line.hasPrefix("#"), !line.allSatisfy(\.isWhitespace) {
        entries.append(Entry(line: index + 1, text: String(line), refusal: marker))
        marker = nil
      }
    }
    self.name = name
    self.entries = entries
  }

  /// The file as its administrator would load it once the refused rules are gone.
  public var validRules: String {
    entries.filter { $0.refusal == nil }.map { $0.text + "\n" }.joined()
  }
}
