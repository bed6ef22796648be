import ArgumentParser
import IPAddressing
import IPNatDiagnostics
import IPNatEvaluation
import IPNatKit
import IPNatLint

extension IPNatCommand {
  /// `ipnat test`: ipftest for Linux, offline.
  struct Test: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "test",
      _superCommandName: "ipnat",
      abstract: "Tell, offline, what Linux does to packets written as text: the rule that translates each, and the packet after it.",
      discussion: """
        Each line of PACKETS is the first packet of a connection in ipftest's notation:
          in on ppp0 tcp 198.51.100.7,40000 203.0.113.5,443
          out on ppp0 udp 10.0.0.7,5000 192.0.2.53,53
          in on ppp0 icmp 198.51.100.7 203.0.113.5 echo
        The packet crosses the router: an 'in' packet arrives on its interface and leaves by \
        another, an 'out' packet arrives by another and leaves on its own. It meets the nat \
        chains of prerouting, then those of postrouting, of the very ruleset 'compile' prints \
        (folded or not, as the lowering flags say). The answer names the rule that translates \
        the packet (its ipnat.conf line; 'and by' a second one in the other hook) and the packet \
        after it, or says why nothing did. Where the kernel chooses (round-robin, address and \
        port ranges), the answer is every choice it may make. A rule that needs the other \
        interface's name is taken as not matching, with a note, unless --other-interface gives it. \
        An ICMP error or reply begins no connection: Linux translates it only with the \
        connection it quotes or answers, so alone it is not translated.

        A line may say what the packet must become, after '=>': the source and destination in \
        the same notation, '*' for any address or port, or 'unchanged':
          in on ppp0 tcp 198.51.100.7,40000 203.0.113.5,443 => 198.51.100.7,40000 10.0.0.10,443
        An expectation any possible outcome misses is an error at its line, and the exit status \
        is 1: a file of packet lines is a NAT test suite for CI.

        Exit status: 0 when every expectation holds, 1 when one does not (or a file has errors), \
        2 for a usage error.
        """)

    @Argument(help: ArgumentHelp("The ipnat.conf to test.", valueName: "file"))
    var file: String

    @Argument(help: ArgumentHelp("The packet lines, or '-' for standard input.", valueName: "packets"))
    var packets: String = "-"

    @Option(help: ArgumentHelp("text, json (one object per packet), sarif or github (the unmet expectations, as lint's).",
                               valueName: "format"))
    var format: LintReport.Format = .text

    @Option(name: .customLong("address"),
            help: ArgumentHelp("An interface's address, for masquerade and redirect, e.g. ppp0=203.0.113.5. Repeatable.",
                               valueName: "if=addr"))
    var addresses: [String] = []

    @Option(name: .customLong("other-interface"),
            help: ArgumentHelp("The router's interface on the packets' other side: where an 'in' packet leaves and an 'out' packet comes from.",
                               valueName: "if"))
    var otherInterface: String?

    @OptionGroup var reading: ReadingOptions
    @OptionGroup var lowering: LoweringFlags

    func validate() throws {
      guard file != "-" || packets != "-" else { throw ValidationError("ipnat.conf and the packets cannot both be standard input") }
      for pair in addresses where Self.address(pair) == nil {
        throw ValidationError("--address expects INTERFACE=ADDRESS, e.g. ppp0=203.0.113.5; got '\(pair)'")
      }
    }

    static func address(_ pair: String) -> (String, IPAddress)? {
      let parts = pair.split(separator: "=", maxSplits: 1)
      guard parts.count == 2 else { return nil }
      return IPAddress.parse(parts[1]).map { (String(parts[0]), $0) }
    }

    func run() throws {
      var input = InputOptions()
      (input.file, input.reading) = (file, reading)
      let frontend = Frontend(input: input)
      let table = try frontend.lower(try frontend.readInput(), with: lowering)
      let packetFile = try Frontend.read(packets)
      let read = PacketLineReader.read(packetFile)
      var options = Evaluator.Options()
      options.otherInterface = otherInterface
      for pair in addresses { if let (name, address) = Self.address(pair) { options.interfaceAddresses[name] = address } }
      let answers = PacketTest.run(read.lines, table: table, options: options)
      let diagnostics = read.diagnostics + answers.compactMap(\.unmet)
      let report = LintReport([LintReport.Entry(file: packetFile, diagnostics: diagnostics)])
      switch format {
      case .text:
        FileOutput.standardOutput.write(PacketTest.text(answers, packetsFile: packetFile.name))
        frontend.report(diagnostics, in: packetFile)
      case .json:
        FileOutput.standardOutput.write(PacketTest.json(answers, packetsFile: packetFile.name))
        frontend.report(read.diagnostics, in: packetFile)
      case .sarif: FileOutput.standardOutput.write(SARIFReport.render(report, toolVersion: IPNatCommand.configuration.version))
      case .github: FileOutput.standardOutput.write(GitHubReport.render(report))
      }
      if diagnostics.contains(where: { $0.severity == .error }) { throw ExitCode(ExitStatus.inputErrors) }
    }
  }
}
