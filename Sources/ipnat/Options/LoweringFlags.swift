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

  @Flag(name: .customLong("no-fold"),
        help: "Keep one nftables rule per ipnat.conf rule: do not fold rules of one shape into a map lookup.")
  var noFold = false

  @Option(name: .customLong("fold-threshold"),
          help: ArgumentHelp("Fold rules of one shape (port forwards, 1:1 maps, …) into a map lookup once there are this many.",
                             valueName: "n"))
  var foldThreshold = LoweringOptions.defaultFoldThreshold

  func validate() throws {
    guard foldThreshold >= 1 else { throw ValidationError("--fold-threshold must be at least 1") }
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
    return LoweringOptions(tableName: table, interfaceMap: renames, reflection: reflection,
                           foldThreshold: noFold ? nil : foldThreshold)
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
