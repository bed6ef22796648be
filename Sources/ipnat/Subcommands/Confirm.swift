// Only with the Kernel trait (the default): a build without it has no libnftnl or libmnl.
#if Kernel
import ArgumentParser
import IPNatLoader

extension IPNatCommand {
  /// `ipnat confirm`: keep the rules of a `load --confirm` that is waiting.
  struct Confirm: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "confirm",
      _superCommandName: "ipnat",
      abstract: "Keep the rules of a 'load --confirm' that is waiting; without this, it rolls back.")

    @OptionGroup var tableOption: TableOption

    func run() throws {
      guard ConfirmWindow(table: tableOption.table, directory: Environment.runDirectory).confirm() else {
        throw Frontend.failure(KernelDiagnostics.nothingToConfirm, "no load of table \(tableOption.table) is waiting for confirmation",
                      status: ExitStatus.inputErrors)
      }
      FileOutput.standardError.write("ipnat: confirmed; the new rules stay\n")
    }
  }
}
#endif
