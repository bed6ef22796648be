import Foundation
import TestSupport
import Testing

/// Inputs written to break a parser: each gets a diagnostic and exit status 1 from every
/// command that reads a configuration, within a bounded time, with nothing on standard output.
/// A crash would show as another status (a signal), a hang as `timeout`'s 124.
@Suite struct HostileInputTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var bytes: @Sendable () -> [UInt8]
    /// Options given before the file.
    var arguments: [String] = []
    /// What standard error must contain (a diagnostic id, usually).
    var expected: String
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(name: "invalid UTF-8", bytes: { Array("map eth0 10.0.0.0/8 -> 1.2.3.4/32\n".utf8) + [0xFF, 0xFE, 0x0A] },
         expected: "<input>:2:1: error:"),
    Case(name: "NUL bytes", bytes: { Array("map eth0 10.0.0.0/8".utf8) + [0] + Array(" -> 1.2.3.4/32\n".utf8) },
         expected: "[lex.invalid-character]"),
    Case(name: "a 10 MB line", bytes: { Array("map eth0 ".utf8) + [UInt8](repeating: 0x61, count: 10 << 20) + [0x0A] },
         expected: "error:"),
    Case(name: "300,000 rules, over --max-rules", bytes: { manyRules(300_000) }, arguments: ["--max-rules", "200000"],
         expected: "<input>:200001:1: error: too many rules: ipnat reads at most 200000 rules from one file"),
    Case(name: "a number beyond 64 bits",
         bytes: { Array("map eth0 10.0.0.0/8 -> 1.2.3.4/32 portmap tcp 99999999999999999999999:2\n".utf8) },
         expected: "[parse.number-too-large]"),
    Case(name: "a port over 65535", bytes: { Array("rdr eth0 0/0 port 70000 -> 10.0.0.1 port 80 tcp\n".utf8) },
         expected: "[parse.invalid-port]"),
    Case(name: "an IPv4 mask over 32", bytes: { Array("map eth0 10.0.0.0/33 -> 1.2.3.4/32\n".utf8) },
         expected: "[parse.invalid-mask]"),
    Case(name: "an IPv6 mask over 128", bytes: { Array("map eth0 ::/0 -> 2001:db8::1/129\n".utf8) },
         expected: "[parse.invalid-mask]"),
    Case(name: "cyclic variables", bytes: { Array("a = \"$b\";\nb = \"$a\";\nmap $a 10.0.0.0/8 -> 1.2.3.4/32\n".utf8) },
         expected: "[var.cycle]"),
    Case(name: "variables 5,000 deep", bytes: { deepVariables(5_000) }, expected: "[var.too-deep]"),
    Case(name: "variables that double at every level", bytes: { doublingVariables(40) }, expected: "error:"),
    Case(name: "an unterminated quote", bytes: { Array("a = \"eth0;\nmap $a 10.0.0.0/8 -> 1.2.3.4/32\n".utf8) },
         expected: "[lex.unterminated-string]"),
    Case(name: "escape sequences", bytes: { Array("map eth0 \u{1B}[2J\u{1B}]0;owned\u{07} -> 0/32\n".utf8) },
         expected: "[lex.invalid-character]"),
    Case(name: "random bytes (seed 1)", bytes: { randomBytes(seed: 1, count: 100_000) }, expected: "error:"),
    Case(name: "random bytes (seed 2)", bytes: { randomBytes(seed: 2, count: 1_000) }, expected: "error:"),
    Case(name: "random printable text", bytes: { randomText(seed: 3, count: 50_000) }, expected: "error:"),
  ]

  @Test(arguments: cases)
  func isRefusedWithADiagnostic(_ hostile: Case) throws {
    let path = try temporaryFile(hostile.bytes())
    defer { try? FileManager.default.removeItem(atPath: path) }
    for command in ["print", "compile", "lint"] {
      let run = try bounded([command, "--no-resolve", "--color", "never"] + hostile.arguments + [path])
      // lint's report is its output; the other commands print nothing but diagnostics.
      let report = command == "lint" ? run.standardOutput : run.standardError
      #expect(run.status == 1, "\(command): \(report.prefix(300))")
      #expect(command == "lint" || run.standardOutput.isEmpty, "\(command) printed output")
      let expected = hostile.expected.replacingOccurrences(of: "<input>", with: path)
      #expect(report.contains(expected), "\(command): \(report.prefix(300))")
      #expect(!(run.standardOutput + run.standardError).contains("\u{1B}"), "\(command) copied an escape character to the terminal")
      #expect(report.utf8.count < 64 << 10, "\(command) flooded its output")
    }
  }

  @Test func anInputLargerThanTheLimitIsRefusedUnread() throws {
    let path = try temporaryFile([UInt8](repeating: 0x23, count: (64 << 20) + 1))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let run = try bounded(["compile", path])
    #expect(run.status == 1)
    #expect(run.standardOutput.isEmpty)
    #expect(run.standardError.contains("is larger than 64 MiB, the most ipnat reads"))
  }

  /// Windows line ends are ordinary white space: the file means what it means with `\n`.
  @Test func crlfLineEndsCompileAsLF() throws {
    let text = "wan = \"eth0\";\r\nmap $wan 10.0.0.0/8 -> 1.2.3.4/32\r\n# a comment\r\nrdr $wan 0/0 port 80 -> 10.0.0.1 port 80 tcp\r\n"
    let crlf = try ipnat(["compile", "-"], input: text)
    let lf = try ipnat(["compile", "-"], input: text.replacingOccurrences(of: "\r\n", with: "\n"))
    #expect(crlf.status == 0, "\(crlf.standardError)")
    #expect(crlf.standardOutput == lf.standardOutput)
  }

  /// A file that cannot be read is an error at once, for root too: run as `nobody`.
  @Test func anUnreadableFileIsAnError() throws {
    let directory = NSTemporaryDirectory() + "ipnat-unreadable-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: 0o755])
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/ipnat.conf"
    writeFile(path, "map eth0 10.0.0.0/8 -> 1.2.3.4/32\n")
    try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: path)
    let run =
      getuid() == 0
      ? try Shell.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", Shell.ipnatPath, "compile", path])
      : try ipnat(["compile", path])
    #expect(run.status == 1)
    #expect(run.standardOutput.isEmpty)
    #expect(run.standardError.contains("cannot open '\(path)': Permission denied"))
  }

  // MARK: - Inputs

  static func manyRules(_ count: Int) -> [UInt8] {
    var text = ""
    text.reserveCapacity(count * 50)
    for index in 0..<count {
      text += "rdr eth0 0/0 port \(1 + index % 60_000) -> 10.\(index >> 16 & 255).\(index >> 8 & 255).\(index & 255) port 80 tcp\n"
    }
    return Array(text.utf8)
  }

  static func deepVariables(_ depth: Int) -> [UInt8] {
    var text = "v0 = \"eth0\";\n"
    for level in 1..<depth { text += "v\(level) = \"$v\(level - 1)\";\n" }
    return Array((text + "map $v\(depth - 1) 10.0.0.0/8 -> 1.2.3.4/32\n").utf8)
  }

  /// `v1 = "$v0$v0"`, …: 2⁴⁰ bytes if expanded.
  static func doublingVariables(_ depth: Int) -> [UInt8] {
    var text = "v0 = \"ab\";\n"
    for level in 1..<depth { text += "v\(level) = \"$v\(level - 1)$v\(level - 1)\";\n" }
    return Array((text + "map eth0 $v\(depth - 1) -> 1.2.3.4/32\n").utf8)
  }

  static func randomBytes(seed: UInt64, count: Int) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
  }

  /// Words of the language and printable noise: gets further into the parser than raw bytes.
  static func randomText(seed: UInt64, count: Int) -> [UInt8] {
    let words = ["map", "rdr", "bimap", "map-block", "->", "0/0", "10.0.0.0/8", "port", "tcp", "udp", "portmap",
                 "auto", "from", "to", "any", "$a", "a = \"", "\";", "\n", " ", "::1/128", "65536", "/", ":", "round-robin"]
    var generator = SplitMix64(seed: seed)
    var bytes: [UInt8] = []
    while bytes.count < count {
      let pick = generator.next()
      if pick % 4 == 0 {
        bytes.append(UInt8(0x20 + (pick >> 8) % 95))
      } else {
        bytes += words[Int((pick >> 8) % UInt64(words.count))].utf8
        bytes.append(0x20)
      }
    }
    return bytes
  }

  // MARK: - Running

  /// The built binary under `timeout`: a hang fails the test instead of stalling it.
  func bounded(_ arguments: [String]) throws -> ProcessResult {
    try Shell.run("/usr/bin/timeout", ["--kill-after=5", "60", Shell.ipnatPath] + arguments)
  }

  func temporaryFile(_ bytes: [UInt8]) throws -> String {
    let path = NSTemporaryDirectory() + "ipnat-hostile-\(getpid())-\(UUID().uuidString).conf"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }
}
