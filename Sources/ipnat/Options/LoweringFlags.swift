import ArgumentParser
import IPNatKit

/// How ipnat.conf becomes nftables, shared by the commands that compile: `compile`, `load`
/// and `diff`.
struct LoweringFlags: ParsableArguments {
  @Option(help: ArgumentHelp("The name of the table ipnat owns.", valueName: "name"))
  var table = "ipnat"

  @Option(name: .customLong("interface-map"),
          help: ArgumentHelp("Rename an interface, e.g. le0=eth0 for a rule file from Solaris. Repeatable.",
                             valueName: "old=new"))
  var interfaceMap: [String] = []

  @Flag(help: "NAT reflection (hairpin): inside clients that connect to an rdr rule's external address reach the same server, masqueraded.")
  var reflection = false

  func validate() throws {
    if let problem = LoweringOptions.problem(withTableName: table) {
      throw ValidationError("--table \(table): \(problem)")
    }
    for pair in interfaceMap {
      let parts = pair.split(separator: "=", omittingEmptySubsequences: false)
      guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
        throw ValidationError("--interface-map expects OLD=NEW, e.g. le0=eth0; got '\(pair)'")
      }
    }
  }

  var options: LoweringOptions {
    var renames: [String: String] = [:]
    for pair in interfaceMap {
      let parts = pair.split(separator: "=", omittingEmptySubsequences: false)
      renames[String(parts[0])] = String(parts[1])
    }
    return LoweringOptions(tableName: table, interfaceMap: renames, reflection: reflection)
  }
}

/// `--table`, for the commands that only name ipnat's table: `list`, `flush`, `confirm`.
struct TableOption: ParsableArguments {
  @Option(help: ArgumentHelp("The name of the table ipnat owns.", valueName: "name"))
  var table = "ipnat"

  func validate() throws {
    if let problem = LoweringOptions.problem(withTableName: table) {
      throw ValidationError("--table \(table): \(problem)")
    }
  }
}
