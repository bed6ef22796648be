import IPNatDiagnostics
import IPNatSyntax

/// `# ipnat: disable=ID[,ID…]` comments.
///
/// At the end of a line the comment silences those warnings for the statement on that line;
/// on a line of its own, for the next statement. `# ipnat: disable-file=ID` silences them in the
/// whole file. The comment should say why: `# ipnat: disable=lint.pool-clash (ICMP only)`.
/// Errors are never silenced.
struct Suppressions {
  private var fileWide: Set<DiagnosticID> = []
  /// Statements with silenced ids, in file order (statements never overlap).
  private var byStatement: [(range: SourceRange, ids: Set<DiagnosticID>)] = []
  /// Comments naming ids that cannot be disabled, or no known id.
  private(set) var problems: [Diagnostic] = []

  static let marker = "ipnat:"
  static let problemID: DiagnosticID = "lint.bad-suppression"

  init(_ config: Config, in file: SourceFile) {
    let statements = config.statements.map(\.range)
    var silenced: [Int: Set<DiagnosticID>] = [:]
    for comment in config.comments {
      guard let directive = Directive(comment.text) else { continue }
      let ids = Set(directive.ids.map(DiagnosticID.init(rawValue:)))
      for id in ids where !LintRegistry.canDisable(id) {
        problems.append(.warning(Suppressions.problemID,
                                 "'\(id)' cannot be disabled: only the warnings 'ipnat lint --list-checks' shows can",
                                 at: comment.range))
      }
      if directive.fileWide {
        fileWide.formUnion(ids)
      } else if let statement = Self.statement(for: comment, among: statements, in: file) {
        silenced[statement, default: []].formUnion(ids)
      }
    }
    byStatement = silenced.keys.sorted().map { (statements[$0], silenced[$0] ?? []) }
  }

  /// The statement a comment speaks for: the first one that reaches the comment's line (the
  /// statement it ends) or, when none does, the next one. Statements are in file order, so
  /// their ends are sorted too.
  private static func statement(for comment: Comment, among statements: [SourceRange], in file: SourceFile) -> Int? {
    let lineStart = comment.range.start - (file.location(of: comment.range.start).column - 1)
    let index = firstIndex(in: statements) { $0.end >= lineStart }
    return index < statements.count ? index : nil
  }

  func silences(_ diagnostic: Diagnostic) -> Bool {
    guard diagnostic.severity != .error else { return false }
    if fileWide.contains(diagnostic.id) { return true }
    guard let start = diagnostic.range?.start else { return false }
    // The last silenced statement starting at or before the diagnostic is the only one that can hold it.
    let after = Self.firstIndex(in: byStatement) { $0.range.start > start }
    guard after > 0 else { return false }
    let (range, ids) = byStatement[after - 1]
    return ids.contains(diagnostic.id) && start < max(range.end, range.start + 1)
  }

  /// The first index whose element satisfies `isPast`, for a predicate false then true along
  /// the array; `elements.count` when none does.
  private static func firstIndex<Element>(in elements: [Element], where isPast: (Element) -> Bool) -> Int {
    var low = 0
    var high = elements.count
    while low < high {
      let middle = (low + high) / 2
      if isPast(elements[middle]) { high = middle } else { low = middle + 1 }
    }
    return low
  }

  /// The parsed text of one comment: `ipnat: disable=a,b` or `ipnat: disable-file=a`.
  private struct Directive {
    let ids: [String]
    let fileWide: Bool

    init?(_ comment: String) {
      var text = Substring(comment)
      if text.hasPrefix("#") { text = text.dropFirst() }
      text = text.drop(while: \.isWhitespace)
      guard text.hasPrefix(Suppressions.marker) else { return nil }
      text = text.dropFirst(Suppressions.marker.count).drop(while: \.isWhitespace)
      if text.hasPrefix("disable-file=") {
        fileWide = true
        text = text.dropFirst("disable-file=".count)
      } else if text.hasPrefix("disable=") {
        fileWide = false
        text = text.dropFirst("disable=".count)
      } else {
        return nil
      }
      // The ids end at the first white space: what follows is the reason.
      let list = text.prefix { !$0.isWhitespace }
      ids = list.split(separator: ",").map(String.init)
      guard !ids.isEmpty else { return nil }
    }
  }
}
