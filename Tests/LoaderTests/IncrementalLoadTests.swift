import Foundation
import TestSupport
import Testing

/// `load` sends only the difference from the loaded table. Whatever it sends, the table must end
/// up exactly as a full replace leaves it; rules that stay keep their counters.
@Suite(.enabled(if: NFTCheck.isAvailable, "needs root, nft and unshare"))
struct IncrementalLoadTests {
  /// Loading the same file again finds nothing to send: the image read back from the kernel
  /// equals the compiled one, for every construct the goldens and Samples use. The first
  /// reload reads the whole table back (its run directory has no record); the second compares
  /// with the record the first load left, which must agree.
  @Test(arguments: loadCases)
  func reloadingTheSameFileSendsNothing(_ loadCase: LoadCase) throws {
    let result = try Shell.inNamespace("""
      "$IPNAT" load \(loadCase.arguments) 2>/dev/null || exit 10
      IPNAT_RUN_DIRECTORY="$PWD/unrecorded" "$IPNAT" load -v \(loadCase.arguments) 2>&1 >/dev/null | grep '^ipnat:'
      "$IPNAT" load -v \(loadCase.arguments) 2>&1 >/dev/null | grep '^ipnat:'
      """)
    #expect(result.standardOutput == String(repeating: "ipnat: no changes: the loaded table is already this one\n", count: 2),
            "\(result)")
  }

  /// Random edits of every golden case and Sample: each edited file, loaded over the original,
  /// lists exactly as the same file loaded with --full into an empty table.
  @Test(arguments: loadCases)
  func anUpdateListsLikeAFullReplace(_ loadCase: LoadCase) throws {
    let original = try String(contentsOfFile: loadCase.path, encoding: .utf8)
    var random = SplitMix64(seed: UInt64(loadCase.testDescription.utf8.reduce(0) { $0 &* 31 &+ Int($1) }.magnitude))
    let edits = (0..<6).map { _ in RandomEdit.apply(to: original, using: &random) }
    let outcomes = try Self.compareUpdatesWithFullLoads(original: original, edits: edits, options: loadCase.options,
                                                        table: loadCase.table)
    #expect(outcomes.count == edits.count, "\(outcomes)")
    #expect(outcomes.allSatisfy { !$0.hasPrefix("differs") }, "\(outcomes.joined(separator: "\n"))")
  }

  /// A folded file: edits of single rules become edits of single map elements, and the update
  /// is a handful of messages whichever line changed.
  @Test func editsOfAFoldedFileChangeElementsOnly() throws {
    let original = (0..<400).map { index in
      index % 2 == 0
        ? "rdr eth0 198.18.\(index / 250).\(index % 250)/32 port 80 -> 10.1.\(index / 250).\(index % 250) port 8080 tcp"
        : "map eth0 10.64.\(index / 250).\(index % 250)/32 -> 203.0.\(index / 250).\(index % 250)/32"
    }.joined(separator: "\n") + "\n"
    var random = SplitMix64(seed: 24)
    let edits = (0..<6).map { _ in RandomEdit.bumpNumber(in: original, using: &random) }
    let outcomes = try Self.compareUpdatesWithFullLoads(original: original, edits: edits, options: [], table: "ipnat")
    #expect(outcomes.count == edits.count, "\(outcomes)")
    for outcome in outcomes where !outcome.hasPrefix("invalid") {
      #expect(outcome.hasPrefix("same ipnat: updated: 2 nftables rules kept, 0 removed, 0 added"), "\(outcome)")
    }
  }

  /// Forwards of one address, told apart by their ports: a forward moved to a port or an
  /// address no rule overlaps changes its element alone; moved into the ports of a plain rule,
  /// it compiles the whole file. Either way the table lists as a full replace leaves it.
  @Test func aForwardMovedToAnotherPortOrAddressChangesItsElementAlone() throws {
    let forwards = (0..<40).map { "rdr eth0 192.0.2.1/32 port \(1000 + $0) -> 10.0.0.\($0 + 1) port 80 tcp" }
    let original = (forwards + ["rdr eth0 192.0.2.1/32 port 3000-3099 -> 10.0.1.1 port 80 tcp"]).joined(separator: "\n") + "\n"
    let edits = ["192.0.2.1/32 port 2005 ", "192.0.2.2/32 port 1005 ", "192.0.2.1/32 port 3050 "].map {
      original.replacingOccurrences(of: "192.0.2.1/32 port 1005 ", with: $0)
    }
    let outcomes = try Self.compareUpdatesWithFullLoads(original: original, edits: edits, options: [], table: "ipnat")
    #expect(outcomes.count == 3, "\(outcomes)")
    for (index, outcome) in outcomes.enumerated() {
      #expect(outcome.hasPrefix("same ipnat: updated: 2 nftables rules kept"), "\(outcomes)")
      #expect(outcome.hasSuffix("; only the changed line compiled") == (index < 2), "\(outcomes)")
    }
  }

  /// What another tool changed that an update does not compare (the table made dormant, a NAT
  /// chain's policy) makes the load a full replace, which undoes it, as it always did.
  @Test func foreignChangesAnUpdateCannotSeeMakeAReplace() throws {
    let result = try Shell.inNamespace("""
      printf '%s\\n' 'map eth0 10.0.0.0/8 -> 192.0.2.1/32' > gateway.conf
      "$IPNAT" load gateway.conf || exit 10
      "$NFT" add table inet ipnat '{ flags dormant; }' || exit 11
      "$IPNAT" load -v gateway.conf 2>&1
      "$NFT" list table inet ipnat | grep -c dormant
      "$NFT" add chain inet ipnat srcnat '{ policy drop; }' || exit 12
      "$IPNAT" load -v gateway.conf 2>&1
      "$NFT" list chain inet ipnat srcnat | grep -o 'policy [a-z]*'
      """)
    #expect(result.standardOutput == """
      ipnat: replaced the whole table
      0
      ipnat: replaced the whole table
      policy accept

      """, "\(result)")
  }

  /// A reload right after ipnat's own load compares the maps with the record that load left,
  /// instead of reading them back; here the edit moves a folded forward to another server, so
  /// only its line is compiled. Once anything else has committed (here another tool adding an
  /// element to a fold's map), the record no longer says what the kernel holds: the next
  /// reload compiles the whole file and reads the table back, and the foreign element goes, as
  /// a full load removes it.
  @Test func aReloadComparesWithTheRecordOfTheLastLoadUntilAnotherCommit() throws {
    let result = try Shell.inNamespace("""
      \(Self.writingTenForwards)
      "$IPNAT" load gateway.conf || exit 10
      sed -i 's/-> 10.0.0.4 /-> 10.0.0.44 /' gateway.conf
      "$IPNAT" load -v gateway.conf 2>&1
      "$NFT" add element inet ipnat fold_1 '{ "eth0" . 192.0.2.1 . tcp . 9999 : 10.9.9.9 . 80 }' || exit 11
      sed -i 's/-> 10.0.0.5 /-> 10.0.0.55 /' gateway.conf
      "$IPNAT" load -v gateway.conf 2>&1
      "$NFT" list table inet ipnat > updated
      "$IPNAT" load --full gateway.conf
      "$NFT" list table inet ipnat | diff updated - && echo "as a full load"
      """)
    #expect(result.standardOutput == """
      ipnat: updated: 1 nftables rules kept, 0 removed, 0 added; 2 map elements deleted or added; 1 maps compared as last loaded, not read back; only the changed line compiled
      ipnat: updated: 1 nftables rules kept, 0 removed, 0 added; 3 map elements deleted or added
      as a full load

      """, "\(result)")
  }

  /// A record is of one network namespace. Two new namespaces count their generations alike,
  /// so a record shared through one run directory would otherwise pass for the other's: here
  /// each loads once, and then the second reloads with the first's record beside it.
  @Test func aRecordOfAnotherNamespaceIsNotUsed() throws {
    let result = try Shell.inNamespace("""
      export IPNAT_RUN_DIRECTORY="$PWD/shared"
      \(Self.writingTenForwards)
      cp gateway.conf first.conf
      sed -i 's/-> 10.0.0./-> 10.1.0./' gateway.conf
      "$IPNAT" load gateway.conf || exit 10
      cp first.conf gateway.conf
      unshare --net sh -c '
        IPNAT_RUN_DIRECTORY="$PWD/own" "$IPNAT" load gateway.conf || exit 12
        sed -i "s/-> 10.0.0.4 /-> 10.0.0.44 /" gateway.conf
        "$IPNAT" load -v gateway.conf 2>&1
        "$NFT" list table inet ipnat > updated
        "$IPNAT" load --full gateway.conf
        "$NFT" list table inet ipnat | diff updated - && echo "as a full load"
      ' || exit 11
      """)
    #expect(result.standardOutput == """
      ipnat: updated: 1 nftables rules kept, 0 removed, 0 added; 2 map elements deleted or added
      as a full load

      """, "\(result)")
  }

  /// `diff` sees what an update would send to a fold's map, and names the folded lines.
  @Test func diffSeesAChangedFoldedRule() throws {
    let result = try Shell.inNamespace("""
      \(Self.writingTenForwards)
      "$IPNAT" load gateway.conf || exit 10
      sed -i 's/-> 10.0.0.4 /-> 10.0.0.44 /' gateway.conf
      "$IPNAT" diff gateway.conf
      """)
    #expect(result.standardOutput == "~ @fold_1: 1 element removed, 1 added, of the 10 rules of lines 1-10 folded into it\n",
            "\(result)")
  }

  /// A packet counted by a rule stays counted when another line changes, and when a line put
  /// in above moves the rule down; --full starts again.
  @Test func countersOfRulesThatStayAreKept() throws {
    let result = try Shell.inNamespace("""
      ip link set lo up || exit 10
      printf '%s\\n' 'map lo 127.0.0.1/32 -> 127.0.0.1/32' 'rdr eth0 0/0 port 80 -> 10.0.0.5 port 8080 tcp' > gateway.conf
      "$IPNAT" load "$PWD/gateway.conf" || exit 11
      python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 9))'
      count() { "$NFT" list chain inet ipnat srcnat | grep -o 'packets [0-9]*'; }
      echo "loaded: $(count)"
      sed -i 's/port 80 /port 81 /' gateway.conf
      "$IPNAT" load -v "$PWD/gateway.conf" 2>&1
      echo "updated: $(count)"
      sed -i '1i map eth1 10.9.0.0/16 -> 192.0.2.9/32' gateway.conf
      "$IPNAT" load -v "$PWD/gateway.conf" 2>&1
      echo "moved: $(count | head -1)"
      "$IPNAT" load --full "$PWD/gateway.conf"
      echo "replaced: $(count | head -1)"
      """)
    #expect(result.standardOutput == """
      loaded: packets 1
      ipnat: updated: 1 nftables rules kept, 1 removed, 1 added; 0 map elements deleted or added
      updated: packets 1
      ipnat: updated: 0 nftables rules kept, 2 removed, 3 added (1 keeping the counts of a removed rule); 0 map elements deleted or added
      moved: packets 1
      replaced: packets 0

      """, "\(result)")
  }

  /// A shell command that writes ten port forwards of one shape, which fold into `fold_1`, to
  /// gateway.conf.
  static let writingTenForwards: String = {
    let forwards = (1...10).map { "rdr eth0 192.0.2.1/32 port \(1000 + $0) -> 10.0.0.\($0) port 80 tcp" }
    return "printf '%s\\n' " + forwards.map(shellQuoted).joined(separator: " ") + " > gateway.conf"
  }()

  /// Loads `original`, then each edit over it, and each edit alone with --full, always from the
  /// same path (a rule's comment names it); answers for each edit `invalid`, `same HOW` or
  /// `differs after HOW: ` and the two listings' difference.
  static func compareUpdatesWithFullLoads(original: String, edits: [String], options: [String], table: String)
    throws -> [String]
  {
    let options = options.map(shellQuoted).joined(separator: " ")
    // The files go through a directory: a script holding them could exceed the argument limit.
    let files = FileManager.default.temporaryDirectory.appendingPathComponent("ipnat-edits-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: files) }
    writeFile(files + "/original.conf", original)
    for (index, edit) in edits.enumerated() { writeFile(files + "/edit\(index).conf", edit) }
    let script = """
      cp "$EDITS"/*.conf . || exit 10
      for edit in $(seq 0 \(edits.count - 1)); do
        cp edit$edit.conf gateway.conf
        if ! "$IPNAT" compile --no-resolve \(options) gateway.conf > /dev/null 2>&1; then echo invalid; continue; fi
        cp original.conf gateway.conf
        "$IPNAT" load \(options) "$PWD/gateway.conf" 2>/dev/null || { echo "original not loaded"; exit 11; }
        cp edit$edit.conf gateway.conf
        "$IPNAT" load -v \(options) "$PWD/gateway.conf" 2> how > /dev/null || { echo "update failed: $(cat how)"; continue; }
        "$NFT" list table inet \(table) > updated
        # Read back whole, the updated table is the file's: the record the update left is true.
        IPNAT_RUN_DIRECTORY="$PWD/unrecorded" "$IPNAT" load -v \(options) "$PWD/gateway.conf" 2> again > /dev/null
        grep -q '^ipnat: no changes' again || echo "differs after $(grep '^ipnat:' how): read back, $(cat again)"
        rm -rf unrecorded
        "$IPNAT" flush --table \(table)
        "$IPNAT" load --full \(options) "$PWD/gateway.conf" 2>/dev/null || { echo "full load failed"; continue; }
        "$NFT" list table inet \(table) > replaced
        "$IPNAT" flush --table \(table)
        if cmp -s updated replaced; then echo "same $(grep '^ipnat:' how)"
        else echo "differs after $(grep '^ipnat:' how): $(diff updated replaced | head -20 | tr '\\n' '|')"; fi
      done
      """
    let result = try Shell.inNamespace(script, timeout: 300, environment: ["EDITS": files])
    #expect(result.status == 0, "\(result)")
    let verdicts = ["invalid", "same", "differs", "update failed", "full load failed"]
    return result.standardOutput.split(separator: "\n").map(String.init).filter { line in
      verdicts.contains { line.hasPrefix($0) }
    }
  }
}
