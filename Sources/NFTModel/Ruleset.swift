import IPAddressing
import IPNatDiagnostics

/// The nftables side of ipnat: tables, chains, rules, maps and stateful objects as immutable
/// values. It knows nothing of ipnat.conf; `IPNatLowering` builds it, `NFTText` prints it as an
/// `nft -f` script, and the loader turns the same values into netlink messages.

/// `ip`, `ip6` or `inet` (both). ipnat owns one `inet` table.
public enum TableFamily: String, Sendable, Hashable {
  case ip, ip6, inet
}

/// The layer-3 family a NAT statement, helper or timeout applies to. In an `inet` table NAT
/// statements must name it (`snat ip to …`), so the IR always carries it.
public enum AddressFamily: String, Sendable, Hashable {
  case ip, ip6

  public init(_ family: IPFamily) { self = family == .inet ? .ip : .ip6 }
}

/// Where a rule came from, so that the emitted script and kernel errors point back at
/// ipnat.conf.
public struct Origin: Sendable, Hashable {
  public var file: String
  public var line: Int
  /// The rule in IPFilter's canonical form.
  public var text: String
  /// The rule's place in the file, for diagnostics about it (a rule the kernel refuses).
  public var range: SourceRange?
  /// For a rule too long for its comment: the number under which the table's `rule_texts` set
  /// keeps the whole of it (``RuleText``). Given by ``RuleText/record(in:)``.
  public var textLink: UInt32?

  public init(file: String, line: Int, text: String, range: SourceRange? = nil) {
    (self.file, self.line, self.text, self.range) = (file, line, text, range)
  }

  /// `file:line: text`, whole, as nft strings can hold it: they cannot escape a double quote, so
  /// quotes in the rule text become single quotes.
  public var fullComment: String { Self.commentSafe("\(file):\(line): \(text)") }

  /// The rule's comment, within nft's 128-byte limit: the same in the script, in JSON and in the
  /// kernel's userdata. A rule too long for it keeps its beginning, ending in `... #N`, where
  /// N is its ``textLink``; a long file name keeps its end.
  public var comment: String {
    if fitsInComment { return fullComment }
    let marker = "..." + (textLink.map { " #\($0)" } ?? "")
    let head = Self.commentSafe("\(Self.shortened(file)):\(line): ")
    let room = Origin.maximumCommentBytes - head.utf8.count - marker.utf8.count
    return head + Self.prefix(of: Self.commentSafe(text), bytes: room) + marker
  }

  public static let maximumCommentBytes = 128

  /// Whether the comment can hold `file:line: text` whole.
  public var fitsInComment: Bool {
    // Most rules are short: measure before building anything.
    if file.utf8.count + text.utf8.count + 24 <= Origin.maximumCommentBytes { return true }
    return fullComment.utf8.count <= Origin.maximumCommentBytes
  }

  /// Reads `file:line: text` back from a comment (the kernel keeps only the comment).
  public init?(comment: String) {
    let parts = comment.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
    guard parts.count == 3, let line = Int(parts[1]), parts[2].hasPrefix(" ") else { return nil }
    self.init(file: String(parts[0]), line: line, text: String(parts[2].dropFirst()))
  }

  /// The number after a shortened comment's `... #`, if it has one.
  public static func textLink(inComment comment: String) -> UInt32? {
    guard let hash = comment.lastIndex(of: "#"), comment[..<hash].hasSuffix("... ") else { return nil }
    let digits = comment[comment.index(after: hash)...]
    guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
    return UInt32(digits)
  }

  static func commentSafe(_ text: String) -> String {
    text.contains("\"") ? String(text.map { $0 == "\"" ? "'" : $0 }) : text
  }

  /// A file name short enough to leave room for the rule: `...` and its last 45 bytes.
  static func shortened(_ file: String) -> String {
    guard file.utf8.count > 48 else { return file }
    var scalars = Substring(file).unicodeScalars
    while String(scalars).utf8.count > 45 { scalars.removeFirst() }
    return "..." + String(scalars)
  }

  /// The longest prefix of `text` within `bytes` UTF-8 bytes that ends on a character.
  static func prefix(of text: String, bytes: Int) -> String {
    var result = ""
    var used = 0
    for character in text {
      let size = character.utf8.count
      if used + size > bytes { break }
      result.append(character)
      used += size
    }
    return result
  }
}

public struct Table: Sendable, Hashable {
  public var family: TableFamily
  public var name: String
  public var objects: [StatefulObject]
  public var maps: [NamedMap]
  public var chains: [Chain]
  /// The whole text of the rules too long for their comments, for `ipnat list` to show them
  /// whole (``RuleText``).
  public var ruleTexts: [RuleText] = []

  public init(family: TableFamily, name: String, objects: [StatefulObject] = [], maps: [NamedMap] = [],
              chains: [Chain] = []) {
    self.family = family
    self.name = name
    self.objects = objects
    self.maps = maps
    self.chains = chains
  }
}

/// A chain; base chains are attached to a netfilter hook.
public struct Chain: Sendable, Hashable {
  public var name: String
  public var base: BaseChain?
  public var rules: [Rule]

  /// The chains of the round-robin group whose first rule is rule `ordinal`: `rr_7_0`,
  /// `rr_7_1`, …, one per target.
  public static func roundRobinTarget(group ordinal: Int, target: Int) -> String { "\(roundRobinPrefix)\(ordinal)_\(target)" }

  /// Whether chain `name` is a round-robin group's target.
  public static func isRoundRobinTarget(_ name: String) -> Bool { name.hasPrefix(roundRobinPrefix) }

  private static let roundRobinPrefix = "rr_"

  public init(name: String, base: BaseChain? = nil, rules: [Rule] = []) {
    self.name = name
    self.base = base
    self.rules = rules
  }
}

public struct BaseChain: Sendable, Hashable {
  public enum Kind: String, Sendable, Hashable {
    case filter, nat
  }

  public enum Hook: String, Sendable, Hashable {
    case prerouting, input, forward, output, postrouting
  }

  public var kind: Kind
  public var hook: Hook
  public var priority: Priority

  public init(kind: Kind, hook: Hook, priority: Priority) {
    self.kind = kind
    self.hook = hook
    self.priority = priority
  }
}

/// A chain priority: a standard name with an offset (`mangle + 1`), or a number. nft accepts
/// `dstnat` and `srcnat` only on prerouting and postrouting; other hooks need numbers.
public enum Priority: Sendable, Hashable {
  case named(StandardPriority, offset: Int)
  case number(Int)

  public enum StandardPriority: String, Sendable, Hashable {
    case raw, mangle, dstnat, filter, security, srcnat

    /// The value nft gives the name (`include/linux/netfilter_ipv4.h`).
    public var value: Int {
      switch self {
      case .raw: -300
      case .mangle: -150
      case .dstnat: -100
      case .filter: 0
      case .security: 50
      case .srcnat: 100
      }
    }
  }

  public var value: Int {
    switch self {
    case .named(let name, let offset): name.value + offset
    case .number(let number): number
    }
  }
}

/// One rule: matches, then statements, with a counter and the origin comment.
public struct Rule: Sendable, Hashable {
  public var matches: [Match]
  public var statements: [Statement]
  public var counter: Bool
  public var origin: Origin?

  public init(matches: [Match] = [], statements: [Statement], counter: Bool = true, origin: Origin? = nil) {
    self.matches = matches
    self.statements = statements
    self.counter = counter
    self.origin = origin
  }
}
