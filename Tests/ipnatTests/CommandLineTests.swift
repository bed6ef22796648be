import Foundation
import TestSupport
import Testing

typealias Run = ProcessResult

let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("../../Samples").standardized.path

/// Runs the built `ipnat` binary, as a user would.
func ipnat(_ arguments: [String], input: String? = nil, environment: [String: String] = [:]) throws -> Run {
  try Shell.run(Shell.ipnatPath, arguments, input: input, environment: environment)
}

@Suite struct CommandLineTests {
  @Test func printsASample() throws {
    let run = try ipnat(["print", "--no-resolve", "\(samples)/home-gateway.conf"])
    #expect(run.status == 0)
    #expect(run.standardError.isEmpty)
    #expect(run.standardOutput.hasPrefix("map ppp0 192.168.1.0/24 -> 0/32 proxy port 21 ftp/tcp\n"))
    #expect(run.standardOutput.split(separator: "\n").count == 6)
  }

  @Test func readsStandardInputForDashOrNoFile() throws {
    for arguments in [["print", "-"], ["print"]] {
      let run = try ipnat(arguments, input: "map le0 10.0.0.5/8 -> 0/32 age 5\n")
      #expect(run.status == 0)
      #expect(run.standardOutput == "map le0 10.0.0.0/8 -> 0/32 age 5/5\n")
    }
  }

  @Test func errorsGoToStandardErrorWithLocationsAndNothingIsPrinted() throws {
    let run = try ipnat(["print", "--color", "never", "-"], input: "map le0 10.0.0.0/8 -> 0/32\nmap le0 10.0.0.0/8 1.2.3.4\n")
    #expect(run.status == 1)
    #expect(run.standardOutput.isEmpty)
    #expect(run.standardError.hasPrefix("<stdin>:2:20: error: expected '->' after the source address, found '1.2.3.4' [parse.expected]\n"))
    #expect(run.standardError.hasSuffix("1 error in <stdin>\n"))
    #expect(!run.standardError.contains("\u{1B}"))
  }

  @Test func colourWhenAsked() throws {
    let run = try ipnat(["print", "--color", "always", "-"], input: "map le0\n")
    #expect(run.status == 1)
    #expect(run.standardError.contains("\u{1B}[1;31merror:"))
  }

  @Test func usageErrorsExitWithTwo() throws {
    #expect(try ipnat(["print", "--no-such-option"]).status == 2)
    #expect(try ipnat(["print", "-D", "1bad=x", "-"], input: "").status == 2)
    #expect(try ipnat(["frobnicate"]).status == 2)
  }

  /// A subcommand's flags are its own, even where ipnat(8)'s have the same letter (`-v`, `-f`),
  /// and its usage errors name it as `ipnat SUBCOMMAND`.
  @Test func subcommandArgumentsAreTheSubcommands() throws {
    let unknown = try ipnat(["print", "--no-such-option"])
    #expect(unknown.standardError.contains("Usage: ipnat print"), "\(unknown.standardError)")
    #expect(unknown.standardError.contains("See 'ipnat print --help'"), "\(unknown.standardError)")
    // print has no -v: were it ipnat(8)'s, it would be taken and print would run.
    #expect(try ipnat(["print", "-v", "-"], input: "map le0 0/0 -> 0/32\n").status == 2)
    let help = try ipnat(["load", "--help"])
    #expect(help.standardOutput.contains("USAGE: ipnat load"))
    #expect(help.standardOutput.contains("--full") && help.standardOutput.contains("-v, --verbose"))
  }

  @Test func definitionsFromTheCommandLineAndEnvironment() throws {
    let input = "map $wan $lan -> 0/32\n"
    let run = try ipnat(["print", "-D", "wan=eth9", "-"], input: input,
                        environment: ["IPNAT_PREDEFINED": "wan=ppp0;lan=10.0.0.0/8"])
    #expect(run.status == 0)
    #expect(run.standardOutput == "map eth9 10.0.0.0/8 -> 0/32\n")
  }

  @Test func noResolveRefusesHostNames() throws {
    let run = try ipnat(["print", "--no-resolve", "-"], input: "map le0 localhost -> 0/32\n")
    #expect(run.status == 1)
    #expect(run.standardError.contains("[parse.host-name]"))
    let resolved = try ipnat(["print", "-"], input: "map le0 localhost -> 0/32\n")
    #expect(resolved.standardOutput == "map le0 127.0.0.1/32 -> 0/32\n")
  }

  @Test func unreadableInputsAreErrorsNotCrashes() throws {
    let directory = try ipnat(["print", samples])
    #expect(directory.status == 1)
    #expect(directory.standardError.contains("is a directory"))
    let missing = try ipnat(["print", "/nonexistent/ipnat.conf"])
    #expect(missing.status == 1)
    #expect(missing.standardError.contains("cannot open '/nonexistent/ipnat.conf'"))
  }

  @Test func helpExplainsTheCommands() throws {
    let root = try ipnat(["--help"])
    #expect(root.status == 0)
    #expect(root.standardOutput.contains("print"))
    let print = try ipnat(["print", "--help"])
    #expect(print.status == 0)
    #expect(print.standardOutput.contains("--no-resolve"))
    #expect(print.standardOutput.contains("standard input"))
  }

  // MARK: - compile

  @Test func compilesASampleToStandardOutput() throws {
    let run = try ipnat(["compile", "--no-resolve", "\(samples)/home-gateway.conf"])
    #expect(run.status == 0)
    #expect(run.standardError.isEmpty)
    #expect(run.standardOutput.hasPrefix("table inet ipnat\ndelete table inet ipnat\ntable inet ipnat {\n"))
    #expect(run.standardOutput.contains("masquerade comment \"\(samples)/home-gateway.conf:"))
  }

  @Test func compileWritesTheOutputFileOnlyOnSuccess() throws {
    let path = NSTemporaryDirectory() + "ipnat-compile-\(getpid()).nft"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let good = try ipnat(["compile", "-o", path, "--table", "edge", "-"], input: "map eth0 10.0.0.0/8 -> 0/32\n")
    #expect(good.status == 0)
    #expect(good.standardOutput.isEmpty)
    #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("table inet edge\n"))

    let bad = try ipnat(["compile", "-o", path, "--color", "never", "-"], input: "map eth0 10.0.0.0/8 -> 0/32\ndivert in on eth0 from any to 192.0.2.2/32 -> src 1.1.1.1,1 dst 2.2.2.2,2 udp;\n")
    #expect(bad.status == 1)
    #expect(bad.standardError.contains("<stdin>:2:1: error: divert rules cannot be expressed in nftables"))
    #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("table inet edge\n"), "the old file is untouched")
  }

  @Test func compilesToJSONWithRenamedInterfaces() throws {
    let run = try ipnat(["compile", "--format", "json", "--interface-map", "le0=eth3", "-"], input: "map le0 10.0.0.0/8 -> 0/32\n")
    #expect(run.status == 0)
    #expect(run.standardOutput.hasPrefix("{\"nftables\": ["))
    #expect(run.standardOutput.contains("\"right\": \"eth3\""))
  }

  @Test func badCompileOptionsAreUsageErrors() throws {
    for arguments in [["compile", "--table", "nat"], ["compile", "--interface-map", "le0"], ["compile", "--format", "yaml"]] {
      let run = try ipnat(arguments, input: "")
      #expect(run.status == 2, "\(arguments)")
      #expect(run.standardOutput.isEmpty)
    }
  }
}
