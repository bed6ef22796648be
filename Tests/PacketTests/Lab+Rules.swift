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

  /// `count` UDP datagrams from `namespace`, each from its own port counting up from
  /// `sourcePort` (so each is a connection of its own), and what the servers saw of each.
  func datagrams(from namespace: String, to host: String, port: Int, sourcePort: Int, count: Int) throws -> [Answer] {
    try probe(namespace, ["udp", host, String(port), "--sport", String(sourcePort), "--count", String(count)])
      .compactMap(Answer.init)
  }
}
