import ArgumentParser
import IPNatKit

#if Kernel
  import IPNatLoader
  import IPNatNetlink
#endif

/// ipnat(8)'s own command line, for scripts moved from Solaris or the BSDs:
/// `ipnat -CF -f /etc/ipf/ipnat.conf`, `ipnat -l`, `ipnat -r -f FILE`, `ipnat -n -f FILE`.
/// Actions run in ipnat(8)'s order: -C, then -F, then -f (or -r), then -l and -s.
struct ClassicOptions: ParsableArguments {
  @Option(name: .customShort("f"), help: ArgumentHelp("ipnat(8): load the rules of this file (replacing ipnat's table).",
                                                      valueName: "file"))
  var file: String?

  @Flag(name: .customShort("C"), help: "ipnat(8): remove all loaded rules.")
  var clear = false

  @Flag(name: .customShort("F"), help: "ipnat(8): flush active translations: delete the conntrack entries of connections ipnat's rules translated, and forget the clients sticky round-robin targets remember.")
  var flushTranslations = false

  @Flag(name: .customShort("l"), help: "ipnat(8): list the loaded rules with their counters, and the clients sticky round-robin targets remember.")
  var list = false

  @Flag(name: .customShort("n"), help: "ipnat(8): change nothing; with -f, let the kernel check the file's rules.")
  var dryRun = false

  @Flag(name: .customShort("r"), help: "ipnat(8): with -f, remove the file's rules instead of loading them.")
  var remove = false

  @Flag(name: .customShort("s"), help: "ipnat(8): show statistics of the loaded rules.")
  var statistics = false

  @Flag(name: .customShort("v"), help: "ipnat(8): say what is done.")
  var verbose = false

  var isEmpty: Bool { file == nil && !clear && !flushTranslations && !list && !remove && !statistics }

  func validate() throws {
    if remove && file == nil { throw ValidationError("-r removes the rules of a file: give it with -f") }
  }
}

#if Kernel
  extension ClassicOptions {
    func run() throws {
      let table = "ipnat"
      if clear {
        try step("removing all rules (table inet \(table))") {
          try Kernel.run { try $0.transport.remove(table: table, commit: .apply) }
        }
      }
      if flushTranslations {
        // Connections ipnat's rules translated carry its conntrack label; others are left alone.
        try step("flushing active translations (conntrack entries with ipnat's label)") {
          let count = try Kernel.run { try $0.flushTranslations(ofTable: table) }
          FileOutput.standardOutput.write("\(count) entries flushed from NAT table\n")
        }
      }
      if let file { try loadOrRemove(file, table: table) }
      if list || statistics {
        let listing = try Kernel.run { try $0.listing(ofTable: table) }
        if list { FileOutput.standardOutput.write(listing.render(counters: true)) }
        if statistics { FileOutput.standardOutput.write(listing.statistics) }
      }
    }

    /// `-f FILE`, `-n -f FILE` and `-r -f FILE`.
    private func loadOrRemove(_ path: String, table: String) throws {
      let frontend = Frontend(input: try InputOptions.parse([path]))
      let source = try frontend.readInput()
      if remove {
        // Each rule by its text, and those a load may have folded by their elements.
        let (unfoldedTable, foldedTable) = try frontend.lower(source, with: try LoweringFlags.parse(["--no-fold"]),
                                                              andWith: try LoweringFlags.parse(["--fold-threshold", "1"]))
        let unfolded = try Kernel.linearize(unfoldedTable)
        let folded = try Kernel.linearize(foldedTable)
        try step("removing the rules of \(path)") {
          let removal = try Kernel.run(reportingIn: source, with: frontend) {
            try $0.removeRules(of: unfolded, foldedAs: folded, fromTable: table)
          }
          if verbose {
            FileOutput.standardError.write(
              "ipnat: \(removal.rules) nftables rules and \(removal.mapElements) map elements of folded rules removed\n")
          }
        }
      } else {
        let compiled = try Kernel.linearize(try frontend.lower(source, with: try LoweringFlags.parse([])))
        try step((dryRun ? "checking " : "loading ") + path) {
          let outcome = try Kernel.run(reportingIn: source, with: frontend) {
            try $0.load(compiled, commit: dryRun ? .checkOnly : .apply)
          }
          if verbose { FileOutput.standardError.write("ipnat: \(outcome.summary)\n") }
        }
      }
    }

    private func step(_ description: String, _ body: () throws -> Void) throws {
      if verbose { FileOutput.standardError.write("ipnat: \(description)\n") }
      if dryRun && !description.hasPrefix("checking") {
        if verbose { FileOutput.standardError.write("ipnat: (-n: not done)\n") }
        return
      }
      try body()
    }
  }
#else
  extension ClassicOptions {
    /// Every ipnat(8) action changes or reads the kernel's rules.
    func run() throws {
      throw ValidationError(
        "ipnat(8)'s flags act on the kernel's rules, and this ipnat was built without kernel support "
          + "(the Kernel trait); 'ipnat compile' and 'ipnat lint' work without it")
    }
  }
#endif
