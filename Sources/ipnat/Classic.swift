import ArgumentParser
import IPNatKit

#if Kernel
  import IPNatNetlink
  import NFTKernel
  import NFTModel
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

  @Flag(name: .customShort("F"), help: "ipnat(8): flush active translations: delete the conntrack entries of connections ipnat's rules translated.")
  var flushTranslations = false

  @Flag(name: .customShort("l"), help: "ipnat(8): list the loaded rules with their counters.")
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
      if clear { try step("removing all rules (table inet \(table))") { try Kernel.run { try $0.remove(table: table) } } }
      if flushTranslations {
        // Connections ipnat's rules translated carry its conntrack label; others are left alone.
        try step("flushing active translations (conntrack entries with label \(TranslationLabel.bit))") {
          let count = try Kernel.run { try $0.deleteConnections(labelled: TranslationLabel.bit) }
          FileOutput.standardOutput.write("\(count) entries flushed from NAT table\n")
        }
      }
      if let file {
        let input = try InputOptions.parse([file])
        let frontend = Frontend(input: input)
        let source = try frontend.readInput()
        let compiled = try Kernel.linearize(try frontend.lower(source, with: try LoweringFlags.parse([])))
        if remove {
          try step("removing the rules of \(file)") { try removeRules(of: compiled, table: table) }
        } else {
          try step((dryRun ? "checking " : "loading ") + file) {
            try Kernel.run { ruleset in
              try ruleset.replace(with: compiled, commit: dryRun ? .checkOnly : .apply, generation: try ruleset.generation())
            }
          }
        }
      }
      if list || statistics {
        let rules = try Kernel.run { try $0.rules(ofTable: table) }
        let summaries = IPNatRuleSummary.group(rules)
        if list { FileOutput.standardOutput.write(IPNatCommand.List.render(summaries, counters: true)) }
        if statistics { FileOutput.standardOutput.write(Self.statistics(summaries, rules: rules)) }
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

    /// `-r`: the loaded nftables rules whose ipnat.conf rule is one of the file's, deleted in one
    /// transaction. Named maps those rules used stay until the next load.
    private func removeRules(of compiled: KernelTable, table: String) throws {
      let texts = Set(compiled.rules.compactMap { $0.origin.map { RuleIdentity($0).text } })
      try Kernel.run { ruleset in
        let generation = try ruleset.generation()
        let doomed = try ruleset.rules(ofTable: table).filter { rule in rule.identity.map { texts.contains($0.text) } ?? false }
        if verbose { FileOutput.standardError.write("ipnat: \(doomed.count) nftables rules to remove\n") }
        if !doomed.isEmpty { try ruleset.delete(doomed, fromTable: table, generation: generation) }
      }
    }

    static func statistics(_ summaries: [IPNatRuleSummary], rules: [LoadedRule]) -> String {
      let chains = Dictionary(grouping: rules, by: \.chain).mapValues(\.count)
      var text = "rules loaded: \(summaries.count) (as \(rules.count) nftables rules)\n"
      for (chain, count) in chains.sorted(by: { $0.key < $1.key }) { text += "  chain \(chain): \(count)\n" }
      text += "translated: \(summaries.reduce(0) { $0 + $1.packets }) packets, \(summaries.reduce(0) { $0 + $1.bytes }) bytes\n"
      return text
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
