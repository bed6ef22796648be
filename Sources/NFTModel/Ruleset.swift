import IPAddressing

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

  public init(file: String, line: Int, text: String) {
    self.file = file
    self.line = line
    self.text = text
  }

  /// The rule's comment, `ipnat.conf:12: map …`, within nft's 128-byte limit: the same in the
  /// script, in JSON and in the kernel's userdata. nft strings cannot escape a double quote, so
  /// quotes in the rule text become single quotes.
  public var comment: String {
    var text = "\(file):\(line): \(self.text)".map { $0 == "\"" ? "'" : $0 }
    guard String(text).utf8.count > Origin.maximumCommentBytes else { return String(text) }
    while String(text).utf8.count > Origin.maximumCommentBytes - 3 { text.removeLast() }
    return String(text) + "..."
  }

  public static let maximumCommentBytes = 128

  /// Reads `file:line: text` back from a comment (the kernel keeps only the comment).
  public init?(comment: String) {
    let parts = comment.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
    guard parts.count == 3, let line = Int(parts[1]), parts[2].hasPrefix(" ") else { return nil }
    self.init(file: String(parts[0]), line: line, text: String(parts[2].dropFirst()))
  }
}

public struct Table: Sendable, Hashable {
  public var family: TableFamily
  public var name: String
  public var objects: [StatefulObject]
  public var maps: [NamedMap]
  public var chains: [Chain]

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
