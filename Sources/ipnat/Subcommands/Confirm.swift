// Only with the Kernel trait (the default): a build without it has no libnftnl or libmnl.
#if Kernel
import ArgumentParser
import IPNatLoader

extension IPNatCommand {
  /// `ipnat confirm`: keep the rules of a `load --confirm` that is waiting.
  struct Confirm: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Keep the rules of a 'load --confirm' that is waiting; without this, it rolls back.")

    @OptionGroup var tableOption: TableOption
    private var table: String { tableOption.table }

    func run() throws {
      guard ConfirmWindow(table: table, directory: Environment.runDirectory).confirm() else {
        FileOutput.standardError.write("ipnat: error: no load of table \(table) is waiting for confirmation\n")
        throw ExitCode(ExitStatus.inputErrors)
      }
      FileOutput.standardError.write("ipnat: confirmed; the new rules stay\n")
    }
  }
}
#endif
