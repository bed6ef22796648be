import Foundation
import TestSupport
import Testing

/// The loader against the real kernel, each test in network namespaces of its own
/// (`unshare --net`) that vanish with it. They need root and nft, as CI has.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
  .standardized
let goldenDirectory = repository.appendingPathComponent("Tests/IPNatLoweringTests/Golden")
let samplesDirectory = repository.appendingPathComponent("Samples")

/// A compiled case: a file and the compile options its golden header names.
struct LoadCase: CustomTestStringConvertible, Sendable {
  var path: String
  var options: [String]
  var testDescription: String { URL(fileURLWithPath: path).lastPathComponent }

  var table: String {
    guard let index = options.firstIndex(of: "--table"), index + 1 < options.count else { return "ipnat" }
    return options[index + 1]
  }

  var arguments: String { ([path] + options).map(shellQuoted).joined(separator: " ") }
}

func shellQuoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// Every golden case that compiles (it has a `.nft`), and every Sample.
let loadCases: [LoadCase] = {
  var cases: [LoadCase] = []
  for name in (try? FileManager.default.contentsOfDirectory(atPath: goldenDirectory.path))?.sorted() ?? []
  where name.hasSuffix(".conf") {
    let path = goldenDirectory.appendingPathComponent(name).path
    guard FileManager.default.fileExists(atPath: String(path.dropLast(5)) + ".nft"),
      let text = try? String(contentsOfFile: path, encoding: .utf8)
    else { continue }
    let header = text.split(separator: "\n").first { $0.hasPrefix("# options:") }
    let options = header.map { $0.dropFirst("# options:".count).split(separator: " ").map(String.init) } ?? []
    cases.append(LoadCase(path: path, options: options))
  }
  for name in (try? FileManager.default.contentsOfDirectory(atPath: samplesDirectory.path))?.sorted() ?? []
  where name.hasSuffix(".conf") {
    cases.append(LoadCase(path: samplesDirectory.appendingPathComponent(name).path, options: []))
  }
  return cases
}()

let homeGateway = samplesDirectory.appendingPathComponent("home-gateway.conf").path
let webFarm = samplesDirectory.appendingPathComponent("web-farm-round-robin.conf").path

@Suite(.enabled(if: NFTCheck.isAvailable, "needs root, nft and unshare"))
struct DifferentialTests {
  /// The table loaded through netlink lists exactly as the one `nft -f` builds from the
  /// compiled script: same chains, rules, sets, elements, objects and comments.
  @Test(arguments: loadCases)
  func netlinkLoadListsLikeNFT(_ loadCase: LoadCase) throws {
    let viaNetlink = try Shell.inNamespace("""
      "$IPNAT" load \(loadCase.arguments) 2>/dev/null && "$NFT" list table inet \(loadCase.table)
      """)
    let viaNFT = try Shell.inNamespace("""
      "$IPNAT" compile \(loadCase.arguments) 2>/dev/null | "$NFT" -f - && "$NFT" list table inet \(loadCase.table)
      """)
    #expect(viaNetlink.status == 0, "\(viaNetlink.standardError)")
    #expect(viaNFT.status == 0, "\(viaNFT.standardError)")
    #expect(!viaNetlink.standardOutput.isEmpty)
    #expect(viaNetlink.standardOutput == viaNFT.standardOutput)
  }

  /// Real configurations (`RealConfigurationTests`), less their refused rules, the way their
  /// administrators would load them: through netlink they list as `nft -f` builds them, a
  /// second load changes nothing, and `diff` finds nothing.
  @Test(arguments: RealConfiguration.names)
  func realConfigurationsLoadLikeNFT(_ name: String) throws {
    let configuration = try #require(RealConfiguration(name))
    let valid = ["VALID_RULES": configuration.validRules]
    let viaNetlink = try Shell.inNamespace("""
      printf '%s' "$VALID_RULES" > valid.conf
      "$IPNAT" load valid.conf 2>/dev/null && "$NFT" list table inet ipnat > listed && cat listed
      "$IPNAT" load -v valid.conf 2>&1 >/dev/null | tail -n 1
      "$IPNAT" diff valid.conf 2>/dev/null
      """, environment: valid)
    let viaNFT = try Shell.inNamespace("""
      printf '%s' "$VALID_RULES" > valid.conf
      "$IPNAT" compile valid.conf 2>/dev/null | "$NFT" -f - && "$NFT" list table inet ipnat
      """, environment: valid)
    #expect(viaNetlink.status == 0, "\(viaNetlink.standardError)")
    #expect(viaNFT.status == 0, "\(viaNFT.standardError)")
    #expect(viaNFT.standardOutput.contains("comment \"valid.conf:") == !configuration.validRules.isEmpty, "the rules reached the file")
    #expect(viaNetlink.standardOutput.hasPrefix(viaNFT.standardOutput))
    #expect(viaNetlink.standardOutput.hasSuffix("""
      ipnat: no changes: the loaded table is already this one
      no changes: the loaded rules are those of valid.conf

      """), "\(viaNetlink.standardOutput.suffix(300))")
  }

  /// Maps of thousands of elements go to libnftnl a chunk at a time and to the kernel in many
  /// messages: every element must arrive, as `nft -f` sends them. Maps this large (9,000
  /// elements) are also encoded on two threads.
  @Test func largeFoldedMapsLoadWhole() throws {
    let generate = """
      awk 'BEGIN { for (i = 0; i < 9000; i++) {
        printf "rdr eth0 198.18.%d.%d/32 port 80 -> 10.1.%d.%d port 8080 tcp\\n", i / 250, i % 250, i / 250, i % 250
        printf "map eth0 10.64.%d.%d/32 -> 203.0.%d.%d/32\\n", i / 250, i % 250, i / 250, i % 250 } }' > big.conf

      """
    let viaNetlink = try Shell.inNamespace(generate + """
      "$IPNAT" load big.conf && "$NFT" list table inet ipnat
      """)
    let viaNFT = try Shell.inNamespace(generate + """
      "$IPNAT" compile big.conf | "$NFT" -f - && "$NFT" list table inet ipnat
      """)
    #expect(viaNetlink.status == 0, "\(viaNetlink.standardError)")
    #expect(viaNFT.status == 0, "\(viaNFT.standardError)")
    #expect(viaNetlink.standardOutput.components(separatedBy: "\"eth0\" . ").count - 1 == 18_000)
    #expect(viaNetlink.standardOutput == viaNFT.standardOutput)
  }

  /// `ipnat diff` of the loaded file finds nothing to change: what is read back from the kernel
  /// matches what the file compiles to, rule by rule.
  @Test(arguments: loadCases)
  func loadedFileDiffsClean(_ loadCase: LoadCase) throws {
    let result = try Shell.inNamespace("""
      "$IPNAT" load \(loadCase.arguments) 2>/dev/null && "$IPNAT" diff \(loadCase.arguments) 2>/dev/null
      """)
    #expect(result.status == 0, "\(result.standardError)")
    #expect(result.standardOutput.hasPrefix("no changes"), "\(result.standardOutput)")
  }
}

@Suite(.enabled(if: NFTCheck.isAvailable, "needs root, nft and unshare"), .serialized)
struct AtomicityTests {
  /// A batch the kernel refuses changes nothing: the previous table lists the same, counters
  /// included, and the error names the ipnat.conf line of the refused rule.
  @Test func rejectedBatchLeavesPreviousTableIntact() throws {
    let result = try Shell.inNamespace("""
      "$IPNAT" load \(shellQuoted(homeGateway)) 2>/dev/null || exit 10
      "$NFT" list table inet ipnat > before
      IPNAT_TEST_FAULT=missing-chain "$IPNAT" load \(shellQuoted(webFarm)) 2> errors
      echo "status $?"
      "$NFT" list table inet ipnat > after
      cmp -s before after && echo unchanged
      cat errors
      """)
    #expect(result.standardOutput.contains("status 3"))
    #expect(result.standardOutput.contains("unchanged"))
    // Reported like any error at a line: place, message, id, the rule and a caret.
    #expect(result.standardOutput.contains("""
      web-farm-round-robin.conf:21:1: error: the kernel refused a rule in chain ipnat_test_missing_chain: \
      No such file or directory [kernel.rejected]
      map eth0 10.0.0.0/16 -> $pub/32
      ^~~
      """), "\(result.standardOutput)")
    #expect(result.standardOutput.contains("note: nothing was changed"))
  }

  /// `--check` sends everything but the end marker: errors are found, nothing applies.
  @Test func checkChangesNothing() throws {
    let result = try Shell.inNamespace("""
      "$IPNAT" load \(shellQuoted(homeGateway)) 2>/dev/null || exit 10
      "$NFT" list ruleset > before
      "$IPNAT" load --check \(shellQuoted(webFarm)) && echo "valid"
      IPNAT_TEST_FAULT=missing-chain "$IPNAT" load --check \(shellQuoted(webFarm)) 2>/dev/null; echo "faulty $?"
      "$NFT" list ruleset > after
      cmp -s before after && echo unchanged
      """)
    #expect(result.standardOutput == "valid\nfaulty 3\nunchanged\n", "\(result.standardError)")
  }

  /// Only our table: another tool's table survives `load` and `flush` untouched.
  @Test func foreignTableSurvivesLoadAndFlush() throws {
    let result = try Shell.inNamespace("""
      "$NFT" add table ip other && "$NFT" add chain ip other input '{ type filter hook input priority 0; }' \
        && "$NFT" add rule ip other input tcp dport 22 accept || exit 10
      "$NFT" list table ip other > before
      "$IPNAT" load \(shellQuoted(homeGateway)) 2>/dev/null && "$IPNAT" load \(shellQuoted(webFarm)) 2>/dev/null \
        && "$IPNAT" flush || exit 11
      "$NFT" list table ip other > after
      cmp -s before after && echo "foreign intact"
      "$NFT" list tables
      """)
    #expect(result.standardOutput == "foreign intact\ntable ip other\n", "\(result.standardError)")
  }

  /// Two loaders racing: the table ends as one whole ruleset, and views of it during the race
  /// are whole too. A loader that loses the race to a concurrent change is refused and changes
  /// nothing.
  ///
  /// A listing can still be torn now and then on a loaded machine, whoever loads: the kernel
  /// makes a committed table, chains and sets visible to dumps before it makes their rules
  /// visible one by one, and nft's generation check does not see it (racing two `nft -f`
  /// loaders shows the same rule-less table). Packets never see that state. So a few torn
  /// views are tolerated; a loader that committed in steps would show in most of them.
  @Test func racingLoadersLeaveOneWholeRuleset() throws {
    let result = try Shell.inNamespace("""
      "$IPNAT" compile \(shellQuoted(homeGateway)) 2>/dev/null | "$NFT" -f - && "$NFT" list table inet ipnat > a
      "$IPNAT" compile \(shellQuoted(webFarm)) 2>/dev/null | "$NFT" -f - && "$NFT" list table inet ipnat > b
      race() { i=0; while [ $i -lt 50 ]; do "$IPNAT" load "$1" 2>>refusals; i=$((i + 1)); done; }
      race \(shellQuoted(homeGateway)) & first=$!
      race \(shellQuoted(webFarm)) & second=$!
      views=0; mixed=0
      while kill -0 $first 2>/dev/null || kill -0 $second 2>/dev/null; do
        "$NFT" list table inet ipnat > view 2>/dev/null || continue
        views=$((views + 1))
        cmp -s view a || cmp -s view b || { mixed=$((mixed + 1)); cp view "mixed$mixed"; }
        [ $views -lt 500 ] || break
      done
      wait
      "$NFT" list table inet ipnat > view
      final=whole
      cmp -s view a || cmp -s view b || final=mixed
      echo "views $views mixed $mixed final $final"
      [ $((mixed * 50)) -le $views ] && echo "torn views within bounds"
      # Show what a mixed view held, against both wholes, to tell a torn load from a torn read.
      [ $mixed -eq 0 ] || { diff mixed1 a | head -n 20; diff mixed1 b | head -n 20; } 2>/dev/null
      grep -v "another program changed the ruleset" refusals | grep . && echo "unexpected errors"
      exit 0
      """, timeout: 300)
    #expect(result.standardOutput.contains("final whole"), "\(result.standardOutput)")
    #expect(result.standardOutput.contains("torn views within bounds"), "\(result.standardOutput)")
    #expect(!result.standardOutput.contains("unexpected errors"), "\(result.standardOutput)")
  }

  /// `load --confirm`: without `ipnat confirm` in time, the previous table comes back exactly,
  /// counters included; with it, the new rules stay.
  @Test func confirmRollsBackUnlessConfirmed() throws {
    let result = try Shell.inNamespace("""
      export IPNAT_RUN_DIRECTORY="$(mktemp -d)"
      cd \(shellQuoted(samplesDirectory.path)) || exit 10
      "$IPNAT" load home-gateway.conf 2>/dev/null || exit 10
      "$NFT" list table inet ipnat > "$IPNAT_RUN_DIRECTORY/before"
      "$IPNAT" load --confirm 1 web-farm-round-robin.conf 2>/dev/null; echo "unconfirmed $?"
      "$NFT" list table inet ipnat > "$IPNAT_RUN_DIRECTORY/after"
      cmp -s "$IPNAT_RUN_DIRECTORY/before" "$IPNAT_RUN_DIRECTORY/after" && echo "rolled back"
      (sleep 1; "$IPNAT" confirm 2>/dev/null) &
      "$IPNAT" load --confirm 30 web-farm-round-robin.conf 2>/dev/null; echo "confirmed $?"
      wait
      "$IPNAT" list --no-counters | head -n 1
      "$IPNAT" confirm 2>/dev/null; echo "nothing waiting $?"
      rm -rf "$IPNAT_RUN_DIRECTORY"
      """)
    #expect(result.standardOutput == """
      unconfirmed 5
      rolled back
      confirmed 0
      rdr eth0 198.51.100.80/32 port 80 -> 10.0.1.11,10.0.1.12 port 80 tcp round-robin sticky
      nothing waiting 1

      """, "\(result.standardError)")
  }

  /// Without CAP_NET_ADMIN: a clear message, exit status 4, and nothing changed.
  @Test func loadWithoutPrivilegeFailsCleanly() throws {
    let result = try Shell.inNamespace("""
      "$IPNAT" load \(shellQuoted(homeGateway)) 2>/dev/null || exit 10
      "$NFT" list ruleset > before
      setpriv --reuid=65534 --regid=65534 --clear-groups "$IPNAT" load \(shellQuoted(webFarm)) 2> errors
      echo "status $?"
      "$NFT" list ruleset > after
      cmp -s before after && echo unchanged
      cat errors
      """)
    #expect(result.standardOutput.contains("status 4"), "\(result.standardOutput)")
    #expect(result.standardOutput.contains("unchanged"))
    #expect(result.standardOutput.contains("changing the ruleset needs CAP_NET_ADMIN"))
  }

  /// `ipnat list` reads counters back: traffic-free here, so zero, and one line per
  /// ipnat.conf rule with the place it came from.
  @Test func listShowsEveryRuleWithItsPlace() throws {
    let result = try Shell.inNamespace("""
      cd \(shellQuoted(samplesDirectory.path)) && "$IPNAT" load home-gateway.conf 2>/dev/null || exit 10
      "$IPNAT" list
      """)
    let lines = result.standardOutput.split(separator: "\n")
    #expect(lines.first == "PACKETS  BYTES  RULE")
    #expect(lines.count == 7)
    #expect(lines.contains("      0      0  map ppp0 192.168.1.0/24 -> 0/32  # home-gateway.conf:19"))
  }

  /// A client a sticky target remembers is listed with its server and the rule, as IPFilter's
  /// `ipnat -l` lists its hostmap, for as long as the set keeps it; `-F` forgets it. The
  /// element is added as the dispatch rule's update adds it when a client comes.
  @Test func listShowsTheClientsStickyTargetsRemember() throws {
    let result = try Shell.inNamespace("""
      cd \(shellQuoted(samplesDirectory.path)) && "$IPNAT" load web-farm-round-robin.conf 2>/dev/null || exit 10
      "$NFT" add element inet ipnat rr_1_1_clients '{ 192.0.2.9 . 198.51.100.80 . 80 }' || exit 11
      "$IPNAT" list | sed -n '/hostmap/,$p'
      "$IPNAT" -F >/dev/null 2>&1
      "$IPNAT" -l | grep -c hostmap
      """)
    let lines = result.standardOutput.split(separator: "\n").map(String.init)
    #expect(lines.count == 4, "\(result.standardOutput) \(result.standardError)")
    #expect(lines.first == "clients sticky targets remember (IPFilter's hostmap):")
    let client = lines.dropFirst(2).first ?? ""
    #expect(client.hasPrefix("192.0.2.9  198.51.100.80 port 80  10.0.1.12  "), "\(client)")
    #expect(client.hasSuffix(" s  rdr eth0 198.51.100.80/32 port 80 -> 10.0.1.11,10.0.1.12 port 80 tcp round-robin sticky"
      + "  # web-farm-round-robin.conf:9"), "\(client)")
    // Forgotten in an hour, as the sample has no age: the set's timeout counts down from 3600 s.
    let seconds = Int(client.split(separator: " ", omittingEmptySubsequences: true).dropFirst(5).first ?? "") ?? 0
    #expect((3500...3600).contains(seconds), "\(client)")
    #expect(lines.last == "0")
  }
}

@Suite(.enabled(if: NFTCheck.isAvailable, "needs root, nft and unshare"))
struct ClassicCommandLineTests {
  /// `ipnat -C -f FILE`, `-r -f FILE`, `-l` and `-CF -f FILE`, as boot scripts from Solaris use them.
  @Test func loadRemoveAndListLikeIpnat8() throws {
    let result = try Shell.inNamespace("""
      cd \(shellQuoted(samplesDirectory.path)) || exit 10
      "$IPNAT" -C -f home-gateway.conf 2>/dev/null; echo "load $?"
      "$IPNAT" -l | wc -l
      "$IPNAT" -n -f web-farm-round-robin.conf; echo "check $?"
      "$IPNAT" -l | wc -l
      "$IPNAT" -r -f home-gateway.conf 2>/dev/null; echo "remove $?"
      "$IPNAT" -l | wc -l
      "$IPNAT" -CF -f home-gateway.conf 2>/dev/null; echo "flush translations $?"
      "$NFT" list tables | wc -l
      """)
    // -CF -f: rules removed, translations flushed (none here: no traffic), the file loaded.
    #expect(result.standardOutput == "load 0\n7\ncheck 0\n7\nremove 0\n1\n0 entries flushed from NAT table\nflush translations 0\n1\n",
            "\(result.standardError)")
  }

  /// `-r -f FILE` takes the file's folded rules out of their map: a TCP/UDP map rule has two
  /// elements, a port forward one; the other rules' elements stay.
  @Test func removeTakesFoldedRulesOutOfTheirMaps() throws {
    let forwards = (1...10).map { "rdr eth0 203.0.113.\($0)/32 port 80 -> 10.0.0.\($0) port 8080 tcp" }
    let maps = (1...10).map { "map eth0 10.0.1.\($0)/32 -> 198.51.100.\($0)/32 portmap tcp/udp 1024:65535" }
    let result = try Shell.inNamespace("""
      printf '%s\\n' \((forwards + maps).map(shellQuoted).joined(separator: " ")) > gateway.conf
      printf '%s\\n' \([forwards[2], forwards[9], maps[4]].map(shellQuoted).joined(separator: " ")) > some.conf
      "$IPNAT" load gateway.conf || exit 10
      "$IPNAT" -v -r -f some.conf || exit 11
      "$NFT" list table inet ipnat
      """)
    #expect(result.status == 0, "\(result)")
    #expect(result.standardError.contains("0 nftables rules and 4 map elements of folded rules removed"), "\(result.standardError)")
    let listing = result.standardOutput
    for gone in ["203.0.113.3 .", "203.0.113.10 .", "10.0.1.5 ."] { #expect(!listing.contains(gone), "\(gone)") }
    for kept in ["203.0.113.1 .", "203.0.113.9 .", "10.0.1.4 . tcp", "10.0.1.4 . udp", "10.0.1.10 . udp"] {
      #expect(listing.contains(kept), "\(kept)")
    }
    #expect(listing.components(separatedBy: "\"eth0\" . ").count - 1 == 20 + 10 - 4, "\(listing)")
  }
}
