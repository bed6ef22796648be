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
  /// Byte ranges of statements, with the ids silenced in each.
  private var byStatement: [(range: SourceRange, ids: Set<DiagnosticID>)] = []
  /// Comments naming ids that cannot be disabled, or no known id.
  private(set) var problems: [Diagnostic] = []

  static let marker = "ipnat:"
  static let problemID: DiagnosticID = "lint.bad-suppression"

  init(_ config: Config, in file: SourceFile) {
    let statementRanges = config.statements.map(\.range)
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
        continue
      }
      let line = file.location(of: comment.range.start).line
      let target = statementRanges.first { file.location(of: $0.start).line <= line && line <= file.location(of: $0.end).line }
        ?? statementRanges.first { $0.start >= comment.range.end }
      if let target { byStatement.append((target, ids)) }
    }
  }

  func silences(_ diagnostic: Diagnostic) -> Bool {
    guard diagnostic.severity != .error else { return false }
    if fileWide.contains(diagnostic.id) { return true }
    guard let range = diagnostic.range else { return false }
    return byStatement.contains { $0.ids.contains(diagnostic.id) && $0.range.start <= range.start && range.start < max($0.range.end, $0.range.start + 1) }
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
