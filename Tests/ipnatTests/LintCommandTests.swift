import Foundation
import TestSupport
import Testing

/// `ipnat lint` as CI runs it: exit statuses, formats, silencing, several files and stdin.
@Suite struct LintCommandTests {
  static let warning = "map eth0 10.0.0.0/24 -> 203.0.113.1/32\n"  // lint.pool-clash
  static let error = "map eth0 10.0.0.0/24 -> 203.0.113.1/32 portmap tcp/udp auto\ndivert in on eth0 from any to 192.0.2.2/32 -> src 1.1.1.1,1 dst 2.2.2.2,2 udp;\n"

  @Test func cleanFilesExitZeroWithNoOutput() throws {
    let run = try ipnat(["lint", "\(samples)/home-gateway.conf", "\(samples)/cgnat-map-block.conf"])
    #expect(run.status == 0)
    #expect(run.standardOutput.isEmpty && run.standardError.isEmpty)
  }

  @Test func warningsPassUnlessWerror() throws {
    let run = try ipnat(["lint", "--color", "never", "-"], input: Self.warning)
    #expect(run.status == 0)
    #expect(run.standardOutput.hasPrefix("<stdin>:1:25: warning: 256 internal addresses share 1 new address"))
    #expect(run.standardOutput.hasSuffix("0 errors, 1 warning in 1 file\n"))
    #expect(try ipnat(["lint", "--werror", "-"], input: Self.warning).status == 1)
  }

  @Test func errorsFail() throws {
    let run = try ipnat(["lint", "--format", "github", "-"], input: Self.error)
    #expect(run.status == 1)
    #expect(run.standardOutput.hasPrefix("::error file=<stdin>,line=2,col=1,"))
    #expect(run.standardOutput.contains("title=lower.divert::"))
  }

  @Test func disableSilencesAWarningButNotAnError() throws {
    #expect(try ipnat(["lint", "--werror", "--disable", "lint.pool-clash", "-"], input: Self.warning).status == 0)
    let refused = try ipnat(["lint", "--disable", "lower.divert", "-"], input: Self.error)
    #expect(refused.status == 2)
    #expect(refused.standardError.contains("--disable lower.divert: not a warning lint can disable"))
    #expect(try ipnat(["lint", "--disable", "lint.no-such-check", "-"], input: Self.warning).status == 2)
  }

  @Test func commentsSilenceTheirStatementOnly() throws {
    let text = """
      # ipnat: disable=lint.pool-clash (one client only)
      map eth0 10.0.0.0/24 -> 203.0.113.1/32
      map eth1 10.0.0.0/24 -> 203.0.113.2/32  # ipnat: disable=lint.pool-clash (same)
      map eth2 10.0.0.0/24 -> 203.0.113.3/32

      """
    let run = try ipnat(["lint", "--format", "json", "-"], input: text)
    let document = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
    let files = try #require(document["files"] as? [[String: Any]])
    let diagnostics = try #require(files.first?["diagnostics"] as? [[String: Any]])
    #expect(diagnostics.count == 1)
    let start = (diagnostics.first?["range"] as? [String: [String: Int]])?["start"]
    #expect(start?["line"] == 4)
  }

  @Test func anUnreadableFileIsAnErrorAndTheOthersAreStillChecked() throws {
    let run = try ipnat(["lint", "--color", "never", "/nonexistent/ipnat.conf", "-"], input: Self.warning)
    #expect(run.status == 1)
    #expect(run.standardOutput.contains("/nonexistent/ipnat.conf: error: cannot open '/nonexistent/ipnat.conf'"))
    #expect(run.standardOutput.contains("[lint.pool-clash]"))
    #expect(run.standardOutput.hasSuffix("1 error, 1 warning in 2 files\n"))
  }

  @Test func listChecksNamesEveryCheck() throws {
    let run = try ipnat(["lint", "--list-checks"])
    #expect(run.status == 0)
    for id in ["lint.shadowed-rule", "lint.rdr-overlap", "lint.map-block-capacity", "lower.mssclamp-not-tcp"] {
      #expect(run.standardOutput.contains(id))
    }
  }

  @Test func interfaceMapAnswersTheForeignNameWarning() throws {
    let text = "map hme0 10.0.0.0/24 -> 0/32 portmap tcp/udp auto\n"
    #expect(try ipnat(["lint", "--werror", "-"], input: text).status == 1)
    #expect(try ipnat(["lint", "--werror", "--interface-map", "hme0=eth0", "-"], input: text).status == 0)
  }
}
