import Foundation
import IPNatDiagnostics
import IPNatKit
import NFTKernel
import NFTModel
import TestSupport
import Testing

/// Compiling only the changed lines (`IPNat.patch`) against compiling the whole edited file.
/// Whenever a patch is made, the record it leaves must be the record of the whole file's
/// compile: the same elements in every map, the same definitions, rule count and source; and
/// the whole file must compile without a diagnostic. Edits change one number in a rule, as an
/// administrator moves a forward to another port or host, or mistypes.
@Suite struct ChangedLinesTests {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
  static let frontend = FrontendOptions(resolveHostNames: false)
  static let scope = LoadRecord.Scope(boot: "boot", namespace: 1, table: "ipnat", generation: 1)

  /// A gateway's rules by the hundred: forwards, 1:1 maps and customers' portmaps that fold,
  /// and rules among them that do not (a round-robin pair, bimap, age, a proxy).
  static let gateway: String = {
    var lines: [String] = []
    for index in 0..<240 {
      let (b, c) = (index / 200, index % 200)
      switch index % 4 {
      case 0: lines.append("rdr eth0 198.18.\(b).\(c)/32 port 80 -> 10.1.\(b).\(c) port 8080 tcp")
      case 1: lines.append("map eth0 10.64.\(b).\(c)/32 -> 203.0.\(b).\(c)/32")
      case 2: lines.append("rdr eth1 198.19.\(b).\(c)/32 port 443 -> 10.2.\(b).\(c) port 443 tcp/udp")
      default: lines.append("map eth0 172.16.\(b).\(c)/32 -> 198.51.100.\(c % 50)/32 portmap tcp/udp 1024:65535")
      }
      if index == 60 { lines.append("rdr eth0 192.0.2.9/32 port 25 -> 10.9.0.1,10.9.0.2 port 25 tcp round-robin") }
      if index == 90 { lines.append("bimap eth0 10.7.0.1/32 -> 203.0.113.7/32") }
      if index == 120 { lines.append("map eth0 10.8.0.0/24 -> 203.0.113.8/32 portmap tcp 2000:3000 age 30/60") }
      if index == 130 { lines.append("map eth0 10.5.0.0/24 -> 203.0.113.5/32 mssclamp 1400") }
      if index == 150 { lines.append("map eth0 10.6.0.0/24 -> 0/32 proxy port ftp ftp/tcp") }
    }
    return lines.joined(separator: "\n") + "\n"
  }()

  /// Every golden case that compiles and every Sample, with the lowering its header asks for.
  static let cases: [(name: String, text: String, lowering: LoweringOptions)] = {
    var cases: [(String, String, LoweringOptions)] = [("gateway", gateway, LoweringOptions())]
    for directory in ["Tests/IPNatLoweringTests/Golden", "Samples"] {
      let folder = repository.appendingPathComponent(directory).path
      for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() where name.hasSuffix(".conf") {
        let path = folder + "/" + name
        guard directory == "Samples" || FileManager.default.fileExists(atPath: String(path.dropLast(5)) + ".nft"),
          let text = try? String(contentsOfFile: path, encoding: .utf8)
        else { continue }
        cases.append((name, text, lowering(forHeaderOf: text)))
      }
    }
    return cases
  }()

  /// A golden case's `# options:` line, as far as it concerns lowering.
  static func lowering(forHeaderOf text: String) -> LoweringOptions {
    var options = LoweringOptions()
    guard text.hasPrefix("# options:") else { return options }
    let words = text.prefix { $0 != "\n" }.dropFirst("# options:".count).split(separator: " ").map(String.init)
    for (index, word) in words.enumerated() where index + 1 < words.count || word == "--reflection" {
      switch word {
      case "--table": options.tableName = words[index + 1]
      case "--reflection": options.reflection = true
      case "--fold-threshold": options.foldThreshold = Int(words[index + 1])
      case "--interface-map":
        let pair = words[index + 1].split(separator: "=").map(String.init)
        options.interfaceMap[pair[0]] = pair[1]
      default: break
      }
    }
    return options
  }

  /// The record a load of `text` leaves; nil if it does not compile, or keeps no source.
  static func record(of text: String, lowering: LoweringOptions) -> LoadRecord? {
    let file = SourceFile(name: "gateway.conf", text: text)
    let (table, _, source) = IPNat.lowerRecordingSource(file, options: frontend, lowering: lowering, settings: "settings")
    guard let table, let source, var kernel = try? Linearizer.linearize(table) else { return nil }
    kernel.source = source
    return LoadRecord(of: kernel, in: scope)
  }

  /// `text` with one number of one rule changed: one more, one less, or another byte or port.
  static func editingOneNumber(of text: String, using random: inout SplitMix64) -> String {
    RandomEdit.changeNumber(in: text, using: &random) { value, random in
      [value + 1, max(0, value - 1), random.next(below: 256), 1 + random.next(below: 65535)][random.next(below: 4)]
    }
  }

  @Test(arguments: cases.map(\.name))
  func aPatchLeavesTheRecordOfTheWholeFilesCompile(_ name: String) throws {
    let (_, text, lowering) = try #require(Self.cases.first { $0.name == name })
    // A file with diagnostics, variables or DNS proxy configurations keeps no source.
    guard let original = Self.record(of: text, lowering: lowering) else {
      #expect(name != "gateway", "the gateway keeps no source")
      return
    }
    var random = SplitMix64(seed: UInt64(name.utf8.reduce(7) { $0 &* 31 &+ Int($1) }.magnitude))
    var patched = 0
    for _ in 0..<(name == "gateway" ? 400 : 60) {
      let edited = Self.editingOneNumber(of: text, using: &random)
      let file = SourceFile(name: "gateway.conf", text: edited)
      guard let patch = IPNat.patch(original, toCompile: file, options: Self.frontend, lowering: lowering, settings: "settings")
      else { continue }
      patched += 1
      let whole = Self.record(of: edited, lowering: lowering)
      #expect(whole.map(patch.record.holdsTheSame(as:)) == true, "\(name): patched, but the whole file's record differs:\n\(edited)")
    }
    if name == "gateway" { #expect(patched >= 100, "only \(patched) of 400 edits were patched") }
  }

  /// Where the patch applies and where the whole file is compiled instead.
  @Test func onlyChangesOfWhatAFoldedRuleTranslatesToArePatched() throws {
    let original = try #require(Self.record(of: Self.gateway, lowering: LoweringOptions()))
    func patch(_ edit: (String) -> String) -> TableUpdate? {
      let file = SourceFile(name: "gateway.conf", text: edit(Self.gateway))
      return IPNat.patch(original, toCompile: file, options: Self.frontend, lowering: LoweringOptions(), settings: "settings")?.update
    }
    func replacing(_ old: String, _ new: String) -> (String) -> String {
      { $0.replacingOccurrences(of: old, with: new) }
    }
    // A forward moved to another server and port: its element changes, nothing else.
    let moved = try #require(patch(replacing("-> 10.1.0.4 port 8080", "-> 10.1.0.44 port 8081")))
    #expect(moved.elementChanges.map { [$0.deleting.count, $0.adding.count] } == [[1, 1]])
    #expect(moved.linesCompiledAlone == 1 && moved.keptRules == original.ruleCount)
    // A portmap's two elements (TCP and UDP) move to another address.
    #expect(patch(replacing("172.16.0.3/32 -> 198.51.100.3/32", "172.16.0.3/32 -> 198.51.100.4/32"))?
      .elementChanges.map { [$0.deleting.count, $0.adding.count] } == [[2, 2]])
    // The same file: nothing to change.
    #expect(patch { $0 }?.elementChanges.isEmpty == true)
    // A forward matches another port, where no rule overlaps it: its element's key changes.
    #expect(patch(replacing("198.18.0.4/32 port 80 ", "198.18.0.4/32 port 81 "))?
      .elementChanges.map { [$0.deleting.count, $0.adding.count] } == [[1, 1]])
    // Or another address no rule uses; one a forward of that port uses compiles the whole file.
    #expect(patch(replacing("198.18.0.4/32 port 80 ", "198.18.0.5/32 port 80 "))?
      .elementChanges.map { [$0.deleting.count, $0.adding.count] } == [[1, 1]])
    #expect(patch(replacing("198.18.0.4/32 port 80 ", "198.18.0.8/32 port 80 ")) == nil)
    // A new translation of another shape (no port), a line added, a duplicate, a rule that
    // does not fold, settings, and a change at a rule that takes turns with another.
    #expect(patch(replacing("-> 10.1.0.4 port 8080 tcp", "-> 10.1.0.4 tcp")) == nil)
    #expect(patch { $0 + "map eth9 10.0.0.0/8 -> 0/32\n" } == nil)
    #expect(patch(replacing("map eth0 10.64.0.5/32 -> 203.0.0.5/32", "map eth0 10.64.0.1/32 -> 203.0.0.1/32")) == nil)
    #expect(patch(replacing("10.8.0.0/24 -> 203.0.113.8/32", "10.8.0.0/24 -> 203.0.113.9/32")) == nil)
    #expect(patch(replacing("10.5.0.0/24 -> 203.0.113.5/32", "10.5.0.0/24 -> 203.0.113.6/32")) == nil)
    #expect(patch(replacing("10.9.0.1,10.9.0.2 port 25", "10.9.0.1,10.9.0.3 port 25")) == nil)
    let file = SourceFile(name: "gateway.conf", text: Self.gateway)
    #expect(IPNat.patch(original, toCompile: file, options: Self.frontend, lowering: LoweringOptions(), settings: "other") == nil)
  }

  /// Forwards of one address, told apart by their ports, among rules that share some of those
  /// ports: a forward may match another port only where no rule overlaps it, before or after.
  static let sharedAddress: String = {
    var lines = (0..<24).map { "rdr eth0 192.0.2.\($0 % 2)/32 port \(1000 + $0 / 2) -> 10.0.0.\($0) port 80 tcp" }
    lines.insert("rdr eth0 192.0.2.1/32 port 1100-1199 -> 10.0.1.1 port 80 tcp", at: 12)
    lines.insert("rdr eth0 192.0.2.1/32 port 1150 -> 10.0.1.3 port 80 tcp", at: 13)
    lines.append("rdr eth0 0/0 port 2000 -> 10.0.1.2 port 80 tcp")
    return lines.joined(separator: "\n") + "\n"
  }()

  /// Whether `text` loaded, then edited (`old` replaced by `new`), is patched; a patch must
  /// leave the record of the whole edited file's compile.
  static func patches(_ text: String, replacing old: String, with new: String) throws -> Bool {
    let original = try #require(record(of: text, lowering: LoweringOptions()))
    let edited = text.replacingOccurrences(of: old, with: new)
    #expect(edited != text)
    let file = SourceFile(name: "gateway.conf", text: edited)
    guard let patch = IPNat.patch(original, toCompile: file, options: frontend, lowering: LoweringOptions(), settings: "settings")
    else { return false }
    #expect(record(of: edited, lowering: LoweringOptions()).map(patch.record.holdsTheSame(as:)) == true, "\(new)")
    return true
  }

  @Test func aMatchedPortChangesOnlyWhereNoRuleOverlapsIt() throws {
    func patched(_ old: String, _ new: String) throws -> Bool { try Self.patches(Self.sharedAddress, replacing: old, with: new) }
    // A port no other rule of the address has, before the rule and after.
    #expect(try patched("192.0.2.0/32 port 1000 ", "192.0.2.0/32 port 1050 "))
    #expect(try patched("192.0.2.1/32 port 1011 ", "192.0.2.1/32 port 1099 "))
    // A port another forward of the address has: the later one would no longer fold.
    #expect(try !patched("192.0.2.0/32 port 1000 ", "192.0.2.0/32 port 1001 "))
    // Within the range a plain rule of the address matches (but not of the other address), or
    // the port a rule of every address matches.
    #expect(try !patched("192.0.2.1/32 port 1011 ", "192.0.2.1/32 port 1150 "))
    #expect(try patched("192.0.2.0/32 port 1000 ", "192.0.2.0/32 port 1150 "))
    #expect(try !patched("192.0.2.0/32 port 1000 ", "192.0.2.0/32 port 2000 "))
    // Another address, free or not; another length.
    #expect(try patched("192.0.2.0/32 port 1000 ", "192.0.2.7/32 port 1000 "))
    #expect(try !patched("192.0.2.0/32 port 1000 ", "192.0.2.1/32 port 1000 "))
    #expect(try !patched("192.0.2.0/32 port 1000 ", "192.0.2.0/31 port 1000 "))
    // A forward the plain rule before it shadows: moved out of its ports, it would fold.
    #expect(try !patched("port 1150 -> 10.0.1.3", "port 1050 -> 10.0.1.3"))
    // Another protocol is another shape of rule.
    #expect(try !patched("192.0.2.0/32 port 1000 -> 10.0.0.0 port 80 tcp", "192.0.2.0/32 port 1000 -> 10.0.0.0 port 80 udp"))
  }

  /// Against the whole file's compile: the matched port of any forward set to one of a few,
  /// and half the time its address too, so that rules often meet. Every patch must leave the
  /// whole file's record, and both outcomes must occur.
  @Test func aMatchedPortPatchLeavesTheRecordOfTheWholeFilesCompile() throws {
    let original = try #require(Self.record(of: Self.sharedAddress, lowering: LoweringOptions()))
    var random = SplitMix64(seed: 11)
    var (patched, compiledWhole) = (0, 0)
    for _ in 0..<150 {
      var lines = Self.sharedAddress.split(separator: "\n").map(String.init)
      let index = random.next(below: lines.count)
      let port = [1000 + random.next(below: 14), 1100 + random.next(below: 200), 2000][random.next(below: 3)]
      lines[index] = lines[index].replacing(try Regex("port [0-9]+(-[0-9]+)? ->"), with: "port \(port) ->")
      if random.next(below: 2) == 0 {
        lines[index] = lines[index].replacing(try Regex("192[.]0[.]2[.][0-9]+/"), with: "192.0.2.\(random.next(below: 4))/")
      }
      let edited = lines.joined(separator: "\n") + "\n"
      let file = SourceFile(name: "gateway.conf", text: edited)
      guard let patch = IPNat.patch(original, toCompile: file, options: Self.frontend, lowering: LoweringOptions(), settings: "settings")
      else {
        compiledWhole += 1
        continue
      }
      patched += 1
      let whole = Self.record(of: edited, lowering: LoweringOptions())
      #expect(whole.map(patch.record.holdsTheSame(as:)) == true, "patched, but the whole file's record differs:\n\(edited)")
    }
    #expect(patched >= 20 && compiledWhole >= 20, "\(patched) patched, \(compiledWhole) compiled whole")
  }

  /// A forward filed among the rules a fold group must not move ahead of (`BlockerIndex`): moved
  /// to an address that already holds as many of them as a bucket may, it would close the group
  /// (later forwards open another), though it overlaps none of them. `blockers`: the addresses
  /// of 256 rules that do not fold (`BlockerIndex.bucketLimit`), which the forward at
  /// 192.0.2.20 is moved among. `forwardingNetwork`: with a forward of a /24, for which the
  /// blockers are filed under their /24 too.
  static func blockedGateway(blockers: (Int) -> String, forwardingNetwork: Bool) -> String {
    var lines = ["rdr eth0 192.0.2.9/32 port 1 -> 10.0.0.1 port 80 tcp"]
    lines += (0..<256).map { "rdr eth0 \(blockers($0))/32 port \(2000 + 2 * $0)-\(2001 + 2 * $0) -> 10.0.1.\($0) port 80 tcp" }
    // Forwards that keep the port: another shape, a group of their own, filed among the blockers
    // of the first.
    lines += (0..<8).map { "rdr eth0 192.0.2.\(20 + $0)/32 port 7 -> 10.0.2.\($0) tcp" }
    lines += (2..<10).map { "rdr eth0 192.0.2.9/32 port \($0) -> 10.0.0.\($0) port 80 tcp" }
    if forwardingNetwork { lines.append("rdr eth0 198.18.0.0/24 port 443 -> 10.1.0.3 port 443 tcp") }
    return lines.joined(separator: "\n") + "\n"
  }

  @Test func aMatchedAddressChangesOnlyWhereNoBlockerBucketFills() throws {
    // All 256 on one address: that address's bucket is full.
    let oneAddress = Self.blockedGateway(blockers: { _ in "192.0.2.1" }, forwardingNetwork: false)
    #expect(try Self.patches(oneAddress, replacing: "192.0.2.20/32 port 7 ", with: "192.0.2.6/32 port 7 "))
    #expect(try !Self.patches(oneAddress, replacing: "192.0.2.20/32 port 7 ", with: "192.0.2.1/32 port 7 "))
    // One on each address of 192.0.3.0/24: the bucket of the /24 is full.
    let oneNetwork = Self.blockedGateway(blockers: { "192.0.3.\($0)" }, forwardingNetwork: true)
    #expect(try Self.patches(oneNetwork, replacing: "192.0.2.20/32 port 7 ", with: "192.0.4.77/32 port 7 "))
    #expect(try !Self.patches(oneNetwork, replacing: "192.0.2.20/32 port 7 ", with: "192.0.3.77/32 port 7 "))
  }

  /// Variables defined before the first rule are read by a line compiled alone as by the whole
  /// file; a variable defined after a rule could mean something else before it, so such a file
  /// keeps no source.
  @Test func aFileKeepsItsSourceOnlyIfItDefinesEveryVariableBeforeItsFirstRule() throws {
    let forwards = (1...10).map { "rdr $wan 192.0.2.1/32 port \(1000 + $0) -> 10.0.0.\($0) port 80 tcp" }
    let defined = "wan = \"eth0\";\n" + forwards.joined(separator: "\n") + "\n"
    let original = try #require(Self.record(of: defined, lowering: LoweringOptions()))
    #expect(original.source?.variables == ["wan": "eth0"])
    let moved = SourceFile(name: "gateway.conf", text: defined.replacingOccurrences(of: "-> 10.0.0.4 ", with: "-> 10.0.0.44 "))
    #expect(IPNat.patch(original, toCompile: moved, options: Self.frontend, lowering: LoweringOptions(), settings: "settings") != nil)
    let renamed = SourceFile(name: "gateway.conf", text: defined.replacingOccurrences(of: "\"eth0\"", with: "\"eth1\""))
    #expect(IPNat.patch(original, toCompile: renamed, options: Self.frontend, lowering: LoweringOptions(), settings: "settings") == nil)
    let late = forwards[0] + "\nwan = \"eth0\";\n" + forwards.dropFirst().joined(separator: "\n") + "\n"
    #expect(Self.record(of: "wan = \"eth0\";\n" + late, lowering: LoweringOptions()) == nil)
  }

  @Test func changedLinesAreEditsInPlace() {
    func lines(_ old: String, _ new: String) -> [Int]? {
      IPNat.changedLines(from: SourceFile(name: "a", text: old), to: SourceFile(name: "a", text: new), limit: 2)
    }
    #expect(lines("a\nb\nc\n", "a\nb\nc\n") == [])
    #expect(lines("a\nb\nc\n", "a\nB\nc\n") == [2])
    #expect(lines("a\nb\nc\n", "A\nb\nC\n") == [1, 3])
    #expect(lines("a\nb\nc", "a\nb\ncc") == [3])
    #expect(lines("a\nb\nc\n", "a\nbb\nb\n") == [2, 3])
    #expect(lines("a\nb\n", "a\nx\nb\n") == nil)  // A line put in.
    #expect(lines("a\nb\nc\n", "A\nB\nC\n") == nil)  // Past the limit.
  }
}
