import ArgumentParser
import IPNatDiagnostics
import IPNatKit
import IPNatLint

extension IPNatCommand {
  /// `ipnat lint`: configuration mistakes, for CI.
  struct Lint: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "lint",
      _superCommandName: "ipnat",
      abstract: "Check ipnat.conf files for mistakes: rules that never apply, overlaps, exhausted pools, Linux gaps.",
      discussion: """
        Lint reports everything 'compile' would refuse, plus mistakes that compile fine: \
        shadowed and duplicate rules, overlapping rdr rules, round-robin groups that differ, \
        map-block rules that run out of ports, options that do nothing, host names, \
        Solaris/BSD interface names and unused variables. 'ipnat lint --list-checks' lists \
        every check with its id.

        Silence a warning with --disable ID, or in the file with a comment: \
        '# ipnat: disable=ID,ID (why)' at the end of a rule's line or on the line before it, \
        '# ipnat: disable-file=ID (why)' for the whole file. Errors cannot be silenced.

        Exit status: 0 when no file has an error (warnings allowed, unless --werror), 1 when \
        one has (or a file cannot be read), 2 for a usage error. Lint needs no privileges and \
        never touches the kernel.
        """)

    @Argument(help: ArgumentHelp("The ipnat.conf files to check; '-' for standard input.", valueName: "file"))
    var files: [String] = ["-"]

    @Option(help: ArgumentHelp("text (as other ipnat diagnostics), json, sarif (SARIF 2.1.0) or github (workflow annotations).",
                               valueName: "format"))
    var format: LintReport.Format = .text

    @Flag(help: "Treat warnings as errors for the exit status.")
    var werror = false

    @Option(help: ArgumentHelp("Do not report this warning. Repeatable.", valueName: "id"))
    var disable: [String] = []

    @Flag(help: "List every check: id, severity and what it finds.")
    var listChecks = false

    @OptionGroup var reading: ReadingOptions
    @OptionGroup var lowering: LoweringFlags

    func validate() throws {
      for id in disable where !LintRegistry.canDisable(DiagnosticID(rawValue: id)) {
        throw ValidationError("--disable \(id): not a warning lint can disable (see 'ipnat lint --list-checks')")
      }
    }

    func run() throws {
      if listChecks {
        FileOutput.standardOutput.write(Self.checkList())
        return
      }
      let options = Linter.Options(disabled: Set(disable.map(DiagnosticID.init(rawValue:))),
                                   interfaceMap: lowering.options.interfaceMap)
      let report = LintReport(files.map { lint($0, options: options) })
      FileOutput.standardOutput.write(render(report))
      let failing = report.count(.error) > 0 || (werror && report.count(.warning) > 0)
      if failing { throw ExitCode(ExitStatus.inputErrors) }
    }

    private func lint(_ path: String, options: Linter.Options) -> LintReport.Entry {
      do {
        let file = try InputReader.read(path)
        let diagnostics = IPNat.lint(file, options: reading.frontendOptions, lowering: lowering.options, lint: options)
        return LintReport.Entry(file: file, diagnostics: diagnostics)
      } catch {
        let name = path == "-" ? InputReader.standardInputName : path
        return LintReport.Entry(file: SourceFile(name: name, bytes: []),
                                diagnostics: [.error("input.unreadable", error.description, at: nil)])
      }
    }

    private func render(_ report: LintReport) -> String {
      switch format {
      case .json: return JSONReport.render(report)
      case .sarif: return SARIFReport.render(report, toolVersion: IPNatCommand.configuration.version)
      case .github: return GitHubReport.render(report)
      case .text:
        let renderer = DiagnosticRenderer(useColor: reading.color.isEnabled(for: .standardOutput))
        let body = report.entries.map { renderer.render($0.diagnostics, in: $0.file) }.joined()
        return body + Self.summary(report)
      }
    }

    /// `2 errors, 1 warning in 3 files`, or nothing when all is clean.
    private static func summary(_ report: LintReport) -> String {
      let errors = report.count(.error)
      let warnings = report.count(.warning)
      guard errors + warnings > 0 else { return "" }
      let files = report.entries.count
      return "\(counted(errors, "error")), \(counted(warnings, "warning")) in \(counted(files, "file"))\n"
    }

    private static func counted(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

    private static func checkList() -> String {
      var lines = LintRegistry.checks.map { "\($0.id)  \($0.severity.rawValue)  \($0.summary)" }
      lines += LintRegistry.stageWarnings.keys.sorted().map { "\($0)  warning  \(LintRegistry.summary(of: $0))" }
      return lines.joined(separator: "\n") + "\n"
    }
  }
}

extension LintReport.Format: ExpressibleByArgument {}
