import Foundation
import TestSupport
import Testing

/// Least privilege: reading and compiling need nothing; changing the kernel's ruleset needs
/// CAP_NET_ADMIN and nothing else (not root's uid, not other capabilities).
@Suite(.enabled(if: NFTCheck.isAvailable, "needs root, nft and unshare"))
struct PrivilegeTests {
  static let nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all"
  static let netAdminOnly =
    "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,+net_admin --ambient-caps=+net_admin --bounding-set=-all,+net_admin"

  @Test func compilePrintAndLintNeedNoPrivilege() throws {
    let result = try Shell.inNamespace("""
      cp \(shellQuoted(homeGateway)) gateway.conf && chmod 644 gateway.conf && chmod 755 . || exit 10
      \(Self.nobody) "$IPNAT" compile --no-resolve gateway.conf > /dev/null && echo "compile ok"
      \(Self.nobody) "$IPNAT" print --no-resolve gateway.conf > /dev/null && echo "print ok"
      \(Self.nobody) "$IPNAT" lint --no-resolve gateway.conf > /dev/null && echo "lint ok"
      \(Self.nobody) "$IPNAT" load gateway.conf 2> errors; echo "load without the capability $?"
      grep -c "needs CAP_NET_ADMIN" errors
      """)
    #expect(result.standardOutput == "compile ok\nprint ok\nlint ok\nload without the capability 4\n1\n",
            "\(result.standardOutput) \(result.standardError)")
  }

  /// An unprivileged user with CAP_NET_ADMIN alone loads, lists, diffs and flushes.
  @Test func loadNeedsOnlyCapNetAdmin() throws {
    let result = try Shell.inNamespace("""
      cp \(shellQuoted(homeGateway)) gateway.conf && chmod 644 gateway.conf && chmod 755 . || exit 10
      \(Self.netAdminOnly) sh -c 'grep CapEff /proc/self/status; id -u'
      \(Self.netAdminOnly) "$IPNAT" load gateway.conf && echo "load ok"
      \(Self.netAdminOnly) "$IPNAT" list --no-counters | wc -l
      \(Self.netAdminOnly) "$IPNAT" diff gateway.conf && echo "diff ok"
      \(Self.netAdminOnly) "$IPNAT" flush && echo "flush ok"
      "$NFT" list tables | wc -l
      """)
    #expect(result.standardOutput == "CapEff:\t0000000000001000\n65534\nload ok\n6\nno changes: the loaded rules are those of gateway.conf\ndiff ok\nflush ok\n0\n",
            "\(result.standardOutput) \(result.standardError)")
  }
}
