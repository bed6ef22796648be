// Only with the Kernel trait (the default): a build without it has no libnftnl or libmnl.
#if Kernel
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
      return try body(try KernelRuleset(bufferLimits: testBufferLimits))
    } catch let error as NetlinkError {
      FileOutput.standardError.write("ipnat: error: \(error)\n")
      throw ExitCode(error == .notPermitted ? ExitStatus.notPermitted : ExitStatus.kernelFailure)
    }
  }

  /// For the loader's tests (`IPNAT_TEST_FAULT=small-buffers`): socket buffers of 16 KiB to
  /// send and 4 KiB to receive, set without the FORCE options, as in a rootless container on
  /// a host with small net.core.wmem_max and rmem_max.
  static var testBufferLimits: SocketBufferLimits? {
    Environment.testFault("small-buffers") ? SocketBufferLimits(send: 16 << 10, receive: 4 << 10) : nil
  }

  /// The kernel's form of a compiled table. The lowering only builds what the linearizer can
  /// encode, so a failure here is a bug in ipnat, reported as such.
  static func linearize(_ table: Table) throws -> KernelTable {
    do {
      var linearized = try Linearizer.linearize(table)
      // For the loader's tests: a batch whose last rule names a chain that does not exist, so
      // the kernel refuses the whole transaction at that rule.
      if Environment.testFault("missing-chain"), !linearized.rules.isEmpty {
        linearized.rules[linearized.rules.count - 1].chain = "ipnat_test_missing_chain"
      }
      // Every rule refused: more error replies than a small receive buffer holds.
      if Environment.testFault("missing-chains") {
        for index in linearized.rules.indices { linearized.rules[index].chain = "ipnat_test_missing_chain" }
      }
      return linearized
    } catch {
      FileOutput.standardError.write("ipnat: internal error: \(error)\n")
      throw ExitCode(ExitStatus.inputErrors)
    }
  }
}
#endif
