import ArgumentParser

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// `ipnat`: IPFilter's NAT language for Linux.
@main
struct IPNatCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ipnat",
    abstract: "Read IPFilter ipnat.conf NAT rules and bring them to Linux nftables.",
    discussion: """
      ipnat understands the ipnat.conf language of IPFilter (Solaris, illumos, FreeBSD, \
      NetBSD): map, bimap, map-block, rdr, rewrite, divert and 'no' rules, with IPFilter's \
      own semantics.

      """ + "\n" + exitStatusHelp,
    version: Version.text,
    subcommands: offlineCommands + kernelCommands
  )

  static let offlineCommands: [any ParsableCommand.Type] = [Compile.self, Print.self, Lint.self, Test.self]

  #if Kernel
    static let exitStatusHelp = """
      Exit status: 0 when the input is clean (warnings allowed), 1 when it has errors or \
      cannot be read, 2 for a usage error, 3 when the kernel refused a change or could not be \
      reached (nothing was changed), 4 without the privilege to change the ruleset \
      (CAP_NET_ADMIN), 5 when 'load --confirm' was not confirmed in time and the previous rules \
      are back.
      """
  #else
    static let exitStatusHelp = """
      Exit status: 0 when the input is clean (warnings allowed), 1 when it has errors or \
      cannot be read, 2 for a usage error. This ipnat was built without kernel support (the \
      Kernel trait): it compiles, prints and lints, and does not load.
      """
  #endif

  #if Kernel
    static let kernelCommands: [any ParsableCommand.Type] = [
      Load.self, Flush.self, List.self, Diff.self, Confirm.self, NATPMPD.self,
    ]
  #else
    /// Built without the Kernel trait: no libnftnl, and each command that would need it only
    /// says so.
    static let kernelCommands: [any ParsableCommand.Type] = [
      WithoutKernel<LoadName>.self, WithoutKernel<FlushName>.self, WithoutKernel<ListName>.self,
      WithoutKernel<DiffName>.self, WithoutKernel<ConfirmName>.self, NATPMPD.self,
    ]
  #endif

  @OptionGroup(title: "ipnat(8) options") var classic: ClassicOptions

  /// Without a subcommand: ipnat(8)'s flags, or the help when there are none.
  func run() throws {
    guard !classic.isEmpty else {
      FileOutput.standardOutput.write(Self.helpMessage() + "\n")
      return
    }
    try classic.run()
  }

  /// Like `ParsableCommand.main()`, except that usage errors exit with status 2 (as most Unix
  /// tools do) instead of the library's 64.
  static func main() {
    MemoryTuning.fixMmapThreshold()
    let arguments = Array(CommandLine.arguments.dropFirst())
    // ipnat(8)'s -f, -n, -v and the rest are options of the root command, which would take them
    // from a subcommand's arguments too (`load -v`, natpmpd(8)'s `-f`): a named subcommand's
    // arguments are its own.
    if let name = arguments.first,
      let subcommand = configuration.subcommands.first(where: { $0._commandName == name })
    {
      run(subcommand, Array(arguments.dropFirst()))
    }
    run(Self.self, arguments)
  }

  private static func run(_ type: any ParsableCommand.Type, _ arguments: [String]) -> Never {
    do {
      var command = try type.parseAsRoot(arguments)
      try command.run()
      Glibc.exit(ExitStatus.success)
    } catch {
      if type.exitCode(for: error) == .validationFailure {
        var message = type.fullMessage(for: error)
        // The library names a subcommand parsed on its own without its parent in this line.
        if type != Self.self {
          message = message.replacing("See '\(type._commandName) ", with: "See 'ipnat \(type._commandName) ")
        }
        FileOutput.standardError.write(message + "\n")
        Glibc.exit(ExitStatus.usage)
      }
      type.exit(withError: error)
    }
  }
}

#if !Kernel
  protocol KernelCommandName { static var name: String { get } }
  enum LoadName: KernelCommandName { static let name = "load" }
  enum FlushName: KernelCommandName { static let name = "flush" }
  enum ListName: KernelCommandName { static let name = "list" }
  enum DiffName: KernelCommandName { static let name = "diff" }
  enum ConfirmName: KernelCommandName { static let name = "confirm" }

  /// A kernel command in a build without the Kernel trait: hidden from the help, and a clear
  /// usage error instead of "unexpected argument".
  struct WithoutKernel<Name: KernelCommandName>: ParsableCommand {
    static var configuration: CommandConfiguration { CommandConfiguration(commandName: Name.name, shouldDisplay: false) }

    @Argument(parsing: .allUnrecognized) var arguments: [String] = []

    func run() throws {
      throw ValidationError(
        "'ipnat \(Name.name)' works on the kernel's rules, and this ipnat was built without kernel support "
          + "(the Kernel trait); 'ipnat compile' and 'ipnat lint' work without it")
    }
  }
#endif

/// The exit statuses ipnat documents.
enum ExitStatus {
  static let success: Int32 = 0
  /// Errors in the input, or an input that cannot be read.
  static let inputErrors: Int32 = 1
  /// The command line itself is wrong.
  static let usage: Int32 = 2
  /// The kernel refused the change, or could not be asked; nothing was changed.
  static let kernelFailure: Int32 = 3
  /// Changing the ruleset needs CAP_NET_ADMIN.
  static let notPermitted: Int32 = 4
  /// `load --confirm` was not confirmed in time; the previous rules are back.
  static let rolledBack: Int32 = 5
}
