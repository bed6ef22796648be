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

  /// Two web servers inside, 10.0.0.5 and 10.0.0.6 on port 8085, for round-robin tests: both
  /// answer once before the test begins (a refused attempt would still take a turn), and the
  /// outside host holds `clients` besides its own address.
  func startTwoServers(outsideClients clients: [String] = []) throws {
    if !clients.isEmpty { try hold(inside: [], outside: clients) }
    try start(inside, ["serve", "10.0.0.5:8085", "10.0.0.6:8085"])
    _ = try probe(inside, ["tcp", "10.0.0.5", "8085"])
    _ = try probe(inside, ["tcp", "10.0.0.6", "8085"])
  }

  /// The server a TCP connection from outside `client` to 192.0.2.1 port 85 reached.
  func server(of client: String) throws -> [String] {
    try probe(outside, ["tcp", "192.0.2.1", "85", "--bind", client]).compactMap(Answer.init).map(\.localAddress)
  }

  /// `count` UDP datagrams from `namespace`, each from its own port counting up from
  /// `sourcePort` (so each is a connection of its own), and what the servers saw of each.
  func datagrams(from namespace: String, to host: String, port: Int, sourcePort: Int, count: Int) throws -> [Answer] {
    try probe(namespace, ["udp", host, String(port), "--sport", String(sourcePort), "--count", String(count)])
      .compactMap(Answer.init)
  }
}
