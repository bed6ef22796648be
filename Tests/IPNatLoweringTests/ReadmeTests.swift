import IPNatDiagnostics
import IPNatKit
import TestSupport
import Testing

/// README's examples are what the code prints today: the first ipnat.conf, compiled, is the
/// script README shows, and `ipnat print` of it is README's listing.
struct ReadmeTests {
  static let readme = readFile(directory() + "/../../README.md") ?? ""

  /// The rest of a fenced block after its line that starts with `marker`.
  static func block(after marker: String) -> String? {
    guard let start = readme.range(of: "\n" + marker) else { return nil }
    let rest = readme[start.upperBound...]
    guard let lineEnd = rest.firstIndex(of: "\n") else { return nil }
    let body = rest[rest.index(after: lineEnd)...]
    guard let close = body.range(of: "```") else { return nil }
    return String(body[..<close.lowerBound])
  }

  static var configuration: SourceFile? {
    block(after: "# /etc/ipnat.conf").map { SourceFile(name: "/etc/ipnat.conf", text: "# /etc/ipnat.conf\n" + $0) }
  }

  @Test func firstCompileExampleIsRealOutput() throws {
    let file = try #require(Self.configuration)
    let shown = try #require(Self.block(after: "$ cat ipnat.nft"))
    let outcome = IPNat.compile(file, options: FrontendOptions(resolveHostNames: false))
    #expect(outcome.output == shown)
  }

  @Test func printExampleIsRealOutput() throws {
    let file = try #require(Self.configuration)
    let shown = try #require(Self.block(after: "$ ipnat print /etc/ipnat.conf"))
    #expect(IPNat.printCanonical(file, options: FrontendOptions(resolveHostNames: false)).output == shown)
  }
}
