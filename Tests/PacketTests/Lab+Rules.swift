import IPNatDiagnostics
import IPNatKit
import TestSupport

extension Lab {
  /// Compiles `conf` and loads it on the router with `nft -f`; returns the script.
  @discardableResult
  func load(_ conf: String, lowering: LoweringOptions = LoweringOptions()) throws -> String {
    let outcome = IPNat.compile(SourceFile(name: "lab.conf", text: conf), options: FrontendOptions(resolveHostNames: false),
                                lowering: lowering)
    guard let script = outcome.output else {
      throw Failure("compile failed: \(DiagnosticRenderer().render(outcome.diagnostics, in: SourceFile(name: "lab.conf", text: conf)))")
    }
    _ = try run(router, ["nft", "-f", "-"], input: script)
    return script
  }
}
