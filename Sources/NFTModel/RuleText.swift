/// The whole text of a rule too long for its comment. The kernel keeps 128 bytes of a rule's
/// comment, and a rule with a long `from … to …` part, or from a file with a long path, needs
/// more; so the table carries a set, `rule_texts`, whose elements hold such rules in pieces, each
/// in an element's comment (also at most 128 bytes), and the rule's comment ends in `... #N`
/// naming them. `ipnat list`, `diff` and `-r` read the rule back whole (``RuleIdentity``).
///
/// An element's key is the rule's number N times 256 plus the piece's index, as a `mark` (any
/// 32-bit type would do; nft prints this one in hex, so the two halves are easy to see).
public struct RuleText: Sendable, Hashable {
  /// The number the rule's comment ends with: 1, 2, … in the table.
  public var link: UInt32
  /// `file:line: text`, as ``Origin/fullComment`` writes it.
  public var text: String

  public init(link: UInt32, text: String) { (self.link, self.text) = (link, text) }

  public static let setName = "rule_texts"
  /// 256 pieces of up to 128 bytes: 32 KiB, far beyond any rule the parser takes.
  static let maximumPieces = 256

  /// The elements that hold the text: keys and comments, in order.
  public var pieces: [(key: UInt32, comment: String)] {
    var pieces: [(key: UInt32, comment: String)] = []
    var rest = Substring(text)
    while !rest.isEmpty && pieces.count < Self.maximumPieces {
      let piece = Origin.prefix(of: String(rest), bytes: Origin.maximumCommentBytes)
      guard !piece.isEmpty else { break }
      pieces.append((link << 8 | UInt32(pieces.count), piece))
      rest = rest.dropFirst(piece.count)
    }
    return pieces
  }

  /// Texts put back together from the elements of a `rule_texts` set, by link.
  public static func assemble(_ pieces: [(key: UInt32, comment: String)]) -> [UInt32: String] {
    var texts: [UInt32: String] = [:]
    for piece in pieces.sorted(by: { $0.key < $1.key }) { texts[piece.key >> 8, default: ""] += piece.comment }
    return texts
  }

  /// Gives every rule of `table` too long for its comment a link, and keeps its whole text in
  /// `table.ruleTexts`. The nftables rules of one ipnat.conf rule share one link.
  public static func record(in table: inout Table) {
    var links: [String: UInt32] = [:]
    var texts: [RuleText] = []
    for chainIndex in table.chains.indices {
      for ruleIndex in table.chains[chainIndex].rules.indices {
        guard var origin = table.chains[chainIndex].rules[ruleIndex].origin, !origin.fitsInComment else { continue }
        let whole = origin.fullComment
        let link = links[whole] ?? UInt32(texts.count + 1)
        if links[whole] == nil {
          links[whole] = link
          texts.append(RuleText(link: link, text: whole))
        }
        origin.textLink = link
        table.chains[chainIndex].rules[ruleIndex].origin = origin
      }
    }
    table.ruleTexts = texts
  }
}

/// Which ipnat.conf rule a loaded nftables rule came from, defined on what survives in the
/// kernel: its comment, and for a long rule the `rule_texts` elements the comment names. A
/// compiled rule's identity is the one it will have once loaded, so the two compare equal.
/// `list` groups by the whole identity; `diff` and `-r` compare ``text`` only, so that a rule
/// moved to another line, or given in another file, is the same rule.
public struct RuleIdentity: Sendable, Hashable {
  public var file: String
  public var line: Int
  /// The canonical form (quotes as single quotes, as the kernel keeps it); cut short, ending in
  /// `...`, only when its `rule_texts` elements are missing.
  public var text: String

  public init(file: String, line: Int, text: String) { (self.file, self.line, self.text) = (file, line, text) }

  /// The identity a compiled rule will have once loaded.
  public init(_ origin: Origin) {
    self.init(file: origin.file, line: origin.line, text: Origin.commentSafe(origin.text))
  }

  /// A loaded rule's identity, from its comment and the table's texts (`RuleText.assemble`);
  /// nil for a comment ipnat did not write.
  public init?(comment: String, texts: [UInt32: String]) {
    if let link = Origin.textLink(inComment: comment), let whole = texts[link], let origin = Origin(comment: whole) {
      self.init(file: origin.file, line: origin.line, text: origin.text)
      return
    }
    guard let origin = Origin(comment: comment) else { return nil }
    self.init(file: origin.file, line: origin.line, text: origin.text)
  }

  /// `file:line`, as `ipnat list` shows where a rule was loaded from.
  public var place: String { "\(file):\(line)" }
}

extension Origin {
  /// The origin a loaded rule's identity names (without a range: the kernel keeps none).
  public init(_ identity: RuleIdentity) {
    self.init(file: identity.file, line: identity.line, text: identity.text)
  }
}
