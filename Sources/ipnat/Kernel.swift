// Only with the Kernel trait (the default): a build without it has no libnftnl or libmnl.
#if Kernel
import ArgumentParser
import IPNatDiagnostics
import IPNatKit
import IPNatLoader
import IPNatNetlink
import NFTKernel

/// The loader this process uses, and how its failures become messages and exit statuses.
enum Kernel {
  typealias Transport = FaultInjectingTransport<KernelRuleset>

  /// Runs `body` with a loader on the ruleset of this network namespace. A failure prints why
  /// and exits 3, or 4 without CAP_NET_ADMIN; a rule the kernel refuses is reported at its
  /// line of `file`, like any other error in it.
  static func run<Result>(reportingIn file: SourceFile? = nil, with frontend: Frontend? = nil,
                          _ body: (Loader<Transport>) throws -> Result) throws -> Result {
    do {
      return try body(Loader(try transport()))
    } catch let error as NetlinkError {
      let status = error == .notPermitted ? ExitStatus.notPermitted : ExitStatus.kernelFailure
      guard let file, let frontend, let diagnostics = error.diagnostics else {
        throw Frontend.failure(error.diagnostic, status: status)
      }
      frontend.report(diagnostics, in: file)
      throw ExitCode(status)
    }
  }

  /// The one place the transport is made, and where the loader's tests inject their faults
  /// (`IPNAT_TEST_FAULT=small-buffers,missing-chain,missing-chains`).
  private static func transport() throws(NetlinkError) -> Transport {
    let requested = Set(Environment.value(of: "IPNAT_TEST_FAULT")?.split(separator: ",").map(String.init) ?? [])
    // Socket buffers of 16 KiB to send and 4 KiB to receive, set without the FORCE options, as
    // in a rootless container on a host with small net.core.wmem_max and rmem_max.
    let limits = requested.contains("small-buffers") ? SocketBufferLimits(send: 16 << 10, receive: 4 << 10) : nil
    let faults = Set(Transport.Fault.allCases.filter { requested.contains($0.rawValue) })
    let ruleset = try KernelRuleset(bufferLimits: limits)
    ruleset.loadRecords = LoadRecordStore(directory: Environment.runDirectory)
    return FaultInjectingTransport(ruleset, faults: faults)
  }

  /// The kernel's form of a compiled table; a failure is a bug in ipnat, reported as such.
  static func linearize(_ table: consuming Table) throws -> KernelTable {
    do {
      return try Loader<Transport>.linearize(consume table)
    } catch {
      throw Frontend.failure(FrontendDiagnostics.internalError, "cannot encode the ruleset for the kernel: \(error)",
                    status: ExitStatus.inputErrors)
    }
  }
}
#endif
