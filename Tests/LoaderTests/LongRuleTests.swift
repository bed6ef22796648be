import TestSupport
import Testing

/// Rules longer than the 128 bytes the kernel keeps of a comment, loaded from a file whose path
/// alone fills most of it: `list`, `diff` and `-r` must still know each rule whole.
@Suite(.enabled(if: NFTCheck.isAvailable, "needs root, nft and unshare"))
struct LongRuleTests {
  static let longMap =
    "map wan-uplink0 inet6 from 2001:db8:aaaa:bbbb:cccc::/80 port 1024:65535 to 2001:db8:cccc:dddd:eeee::/80 port = 443 -> 2001:db8:ffff:eeee:dddd::100/128 portmap tcp/udp 20000:29999 age 300/600 mssclamp 1400 purge"
  static let longMap4 =
    "map wan-uplink0 from 10.100.200.0/24 port 1024:65535 to 203.0.113.0/24 port = 443 -> range 198.51.100.100-198.51.100.200 portmap tcp/udp 20000:29999 sequential age 300/600 mssclamp 1400 purge"
  static let shortMap = "map wan-uplink0 10.0.0.0/8 -> 192.0.2.1/32"
  /// 25 components of 7 bytes: a path of over 175 bytes, more than a comment holds.
  static let directory = (1...25).map { "dir\($0)-x".prefix(6) + "/" }.joined()

  static func script(_ body: String) -> String {
    """
    mkdir -p \(directory) && cd \(directory) || exit 10
    printf '%s\\n' \(shellQuoted(shortMap)) \(shellQuoted(longMap)) \(shellQuoted(longMap4)) > gateway.conf
    printf '%s\\n' \(shellQuoted(longMap)) > only-long.conf
    "$IPNAT" load "$PWD/gateway.conf" || exit 11
    \(body)
    """
  }

  @Test func listShowsLongRulesWhole() throws {
    let result = try Shell.inNamespace(Self.script(#""$IPNAT" list --no-counters; "$IPNAT" list"#))
    let lines = result.standardOutput.split(separator: "\n").map(String.init)
    #expect(Self.longMap.utf8.count > 200 && Self.longMap4.utf8.count > 180)
    #expect(Array(lines.prefix(3)).sorted() == [Self.longMap, Self.longMap4, Self.shortMap].sorted(), "\(result)")
    // The place names the whole path, which no comment could hold.
    let place = lines.first { $0.contains(Self.longMap + "  # /") }
    #expect(place?.hasSuffix("/" + Self.directory + "gateway.conf:2") == true, "\(lines)")
  }

  @Test func diffSeesNoChangeInLongRules() throws {
    let result = try Shell.inNamespace(Self.script(#""$IPNAT" diff "$PWD/gateway.conf""#))
    #expect(result.standardOutput.hasPrefix("no changes"), "\(result)")
  }

  /// `-r -f` removes exactly the nftables rules of the file's rules, the long one included, and
  /// leaves the others.
  @Test func classicRemoveTakesLongRulesOut() throws {
    let result = try Shell.inNamespace(Self.script("""
      "$IPNAT" -r -f only-long.conf || exit 12
      "$IPNAT" list --no-counters
      """))
    let lines = result.standardOutput.split(separator: "\n").map(String.init)
    #expect(lines.sorted() == [Self.longMap4, Self.shortMap].sorted(), "\(result)")
  }

  /// `-r -f` takes out the removed rule's whole text too; the text of the long rule that stays
  /// stays (the table lists as a full load of what remains does).
  @Test func classicRemoveTakesTheTextsOfLongRulesOut() throws {
    let result = try Shell.inNamespace(Self.script("""
      "$IPNAT" -r -f only-long.conf || exit 12
      "$NFT" list set inet ipnat rule_texts
      """))
    #expect(result.status == 0, "\(result)")
    #expect(!result.standardOutput.contains("inet6 from 2001:db8:aaaa"), "\(result.standardOutput)")
    #expect(result.standardOutput.contains("from 10.100.200.0/24"), "\(result.standardOutput)")
  }
}
