// Only with the Kernel trait (the default): a build without it has no libnftnl or libmnl.
#if Kernel
import ArgumentParser
import IPNatKit
import IPNatDiagnostics
import IPNatLoader
import NFTKernel

extension IPNatCommand {
  /// `ipnat load`: compile, then replace ipnat's table in the kernel in one transaction.
  struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "load",
      _superCommandName: "ipnat",
      abstract: "Compile ipnat.conf and load it into the kernel, changing ipnat's table atomically.",
      discussion: """
        ipnat's table (inet ipnat, or --table) changes in a single netlink transaction: \
        either the whole new ruleset applies or nothing changes. No other table is touched. \
        If another program changes the ruleset while ipnat loads, the load is refused and \
        nothing changes.

        When the table is already loaded, only the difference is sent: rules that did not \
        change stay, with their counters, and named maps gain and lose only the elements that \
        changed; chains, helpers, timeouts and maps come and go as the file asks. Where one \
        of those keeps its name but changes (another hook, helper or key type), the table is \
        replaced whole, as --full always does. Either way the result is the same table.

        Each load leaves a record of what it sent in the run directory (/run/ipnat). While \
        nothing else has changed the ruleset since, the next load compares the maps with it \
        instead of reading them back; and where only a few lines changed what a folded rule \
        translates to (a forward moved to another server), or the port or address it matches \
        where no other rule can match the same packets, it compiles those lines alone.

        A rule the kernel refuses is reported at its ipnat.conf line. Loading needs \
        CAP_NET_ADMIN: without it, the exit status is 4.

        With --confirm SECONDS, the previous table comes back unless 'ipnat confirm' runs \
        within that time (from another shell, or the same one after a reconnect): a remote \
        administrator who locks themselves out gets their access back. The command waits, \
        ignores hang-ups, rolls back at once on SIGINT or SIGTERM, and exits 5 after a \
        rollback.
        """)

    @OptionGroup var input: InputOptions
    @OptionGroup var lowering: LoweringFlags

    @Flag(help: "Let the kernel check the whole ruleset, then discard it: nothing changes (like 'nft -c').")
    var check = false

    @Option(help: ArgumentHelp("Roll back to the previous rules unless 'ipnat confirm' follows within this many seconds.",
                               valueName: "seconds"))
    var confirm: Int?

    @Flag(help: "Replace the whole table, even where sending only the difference would do; every counter restarts.")
    var full = false

    @Flag(name: .shortAndLong, help: "Say on standard error how the table changed.")
    var verbose = false

    var method: Loader<Kernel.Transport>.Method { full ? .replace : .update }

    func validate() throws {
      if let confirm, !(1...86400).contains(confirm) {
        throw ValidationError("--confirm takes a number of seconds from 1 to 86400")
      }
      if check && confirm != nil { throw ValidationError("--check changes nothing, so there is nothing to confirm") }
    }

    func run() throws {
      let frontend = Frontend(input: input)
      let file = try frontend.readInput()
      let settings = ChangedLinesLoad.settings(reading: input.reading, lowering: lowering)
      if !full, !check, confirm == nil, let update = try loadChangedLines(of: file, frontend: frontend, settings: settings) {
        if verbose { FileOutput.standardError.write("ipnat: \(Loader<Kernel.Transport>.Outcome.updated(update).summary)\n") }
        return
      }
      let (lowered, source) = try frontend.lowerRecordingSource(file, with: lowering, settings: settings)
      var table = try Kernel.linearize(lowered)
      table.source = source
      guard let seconds = confirm else {
        let outcome = try Kernel.run(reportingIn: file, with: frontend) { loader in
          try loader.load(table, commit: check ? .checkOnly : .apply, method: method)
        }
        if verbose { FileOutput.standardError.write("ipnat: \(outcome.summary)\n") }
        return
      }
      let window = ConfirmWindow(table: table.name, directory: Environment.runDirectory)
      let outcome = try Kernel.run(reportingIn: file, with: frontend) { loader in
        do {
          return try loader.load(table, awaitingConfirmationIn: window, seconds: seconds, method: method) {
            FileOutput.standardError.write(
              "ipnat: loaded; run 'ipnat confirm' within \(seconds) s or the previous rules come back\n")
          }
        } catch let failure as ConfirmWindow.Failure {
          throw Frontend.failure(KernelDiagnostics.confirmWindow, "\(failure)", status: ExitStatus.inputErrors)
        }
      }
      guard outcome == .confirmed else {
        FileOutput.standardError.write("ipnat: not confirmed: the previous rules are back\n")
        throw ExitCode(ExitStatus.rolledBack)
      }
      FileOutput.standardError.write("ipnat: confirmed\n")
    }

    /// ``ChangedLinesLoad``, unless the loader's tests inject faults, which only a compile of
    /// the whole file sends.
    private func loadChangedLines(of file: SourceFile, frontend: Frontend, settings: String) throws -> TableUpdate? {
      try Kernel.run(reportingIn: file, with: frontend) { loader -> TableUpdate? in
        guard loader.transport.faults.isEmpty else { return nil }
        return try ChangedLinesLoad.load(file, options: input.frontendOptions, lowering: lowering.options,
                                         settings: settings, into: loader.transport.base)
      }
    }
  }
}

extension IPNatCommand {
  /// `ipnat flush`: remove ipnat's table.
  struct Flush: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "flush",
      _superCommandName: "ipnat",
      abstract: "Remove ipnat's table from the kernel, and nothing else.")

    @OptionGroup var tableOption: TableOption

    func run() throws {
      try Kernel.run { loader in try loader.transport.remove(table: tableOption.table, commit: .apply) }
    }
  }
}
#endif
