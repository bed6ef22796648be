import ArgumentParser
import IPNatKit
import IPNatNetlink
import NFTKernel

/// What the commands that talk to the kernel share: linearizing the compiled table, and
/// turning kernel failures into a message and an exit status.
enum Kernel {
  /// Runs `body` against the ruleset of this network namespace; a failure prints why and
  /// exits 3, or 4 without CAP_NET_ADMIN.
  static func run<Result>(_ body: (KernelRuleset) throws -> Result) throws -> Result {
    do {
      return try body(try KernelRuleset())
    } catch let error as NetlinkError {
      FileOutput.standardError.write("ipnat: error: \(error)\n")
      throw ExitCode(error == .notPermitted ? ExitStatus.notPermitted : ExitStatus.kernelFailure)
    }
  }

  /// The kernel's form of a compiled table. The lowering only builds what the linearizer can
  /// encode, so a failure here is a bug in ipnat, reported as such.
  static func linearize(_ table: Table) throws -> KernelTable {
    do {
      var linearized = try Linearizer.linearize(table)
      // For the loader's tests: a batch whose last rule names a chain that does not exist, so
      // the kernel refuses the whole transaction at that rule.
      if Environment.value(of: "IPNAT_TEST_FAULT") == "missing-chain", !linearized.rules.isEmpty {
        linearized.rules[linearized.rules.count - 1].chain = "ipnat_test_missing_chain"
      }
      return linearized
    } catch {
      FileOutput.standardError.write("ipnat: internal error: \(error)\n")
      throw ExitCode(ExitStatus.inputErrors)
    }
  }
}
