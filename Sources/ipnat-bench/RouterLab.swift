#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Three network namespaces joined by veth pairs, made for one benchmark and deleted by
/// `close()`, also after a failure:
///
/// ```
/// lan (eth0 10.0.0.2) ── (rlan 10.0.0.1) router (rwan 192.0.2.1) ── (eth0 192.0.2.2) wan
/// ```
///
/// The wan side counts the UDP datagrams that reach it and drops them before its own
/// conntrack, so it answers nothing and costs little. Traffic never leaves these namespaces.
final class RouterLab {
  let lan: String
  let router: String
  let wan: String
  private let tools: Tools

  /// `tag` tells apart the labs of one process that live at the same time.
  init(tools: Tools, tag: String = "") throws {
    self.tools = tools
    let prefix = "ipnb\(getpid() % 100_000)\(tag)"
    (lan, router, wan) = (prefix + "l", prefix + "r", prefix + "w")
    do {
      try build()
    } catch {
      close()
      throw error
    }
  }

  private func build() throws {
    for namespace in [lan, router, wan] {
      try ip("netns", "add", namespace)
      try ip("-n", namespace, "link", "set", "lo", "up")
    }
    try ip("-n", router, "link", "add", "rlan", "type", "veth", "peer", "name", "eth0", "netns", lan)
    try ip("-n", router, "link", "add", "rwan", "type", "veth", "peer", "name", "eth0", "netns", wan)
    try ip("-n", lan, "addr", "add", "10.0.0.2/24", "dev", "eth0")
    try ip("-n", router, "addr", "add", "10.0.0.1/24", "dev", "rlan")
    try ip("-n", router, "addr", "add", "192.0.2.1/24", "dev", "rwan")
    try ip("-n", wan, "addr", "add", "192.0.2.2/24", "dev", "eth0")
    for (namespace, device) in [(lan, "eth0"), (router, "rlan"), (router, "rwan"), (wan, "eth0")] {
      try ip("-n", namespace, "link", "set", device, "up")
    }
    try ip("-n", lan, "route", "add", "default", "via", "10.0.0.1")
    try exec(router, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    try exec(wan, [tools.nft, "-f", "-"], input: """
      table inet bench {
        counter received { }
        chain prerouting {
          type filter hook prerouting priority raw; policy accept;
          meta l4proto udp counter name "received" drop
        }
      }
      """)
  }

  func close() {
    for namespace in [lan, router, wan] {
      _ = try? measureProcess([tools.ip, "netns", "del", namespace])
    }
  }

  /// How many connections the router's conntrack table holds at most (65,536 if it cannot
  /// tell); past it, new connections are dropped and a rate means nothing.
  func conntrackLimit() -> Int {
    let value = try? exec(router, ["sysctl", "-n", "net.netfilter.nf_conntrack_max"])
    return value.flatMap { Int($0.filter(\.isNumber)) } ?? 65_536
  }

  /// Datagrams the wan side has received so far.
  func receivedDatagrams() throws -> Int {
    let listing = try exec(wan, [tools.nft, "list", "counter", "inet", "bench", "received"])
    let words = listing.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
    guard let index = words.firstIndex(of: "packets"), index + 1 < words.count, let count = Int(words[index + 1]) else {
      throw BenchError("cannot read the wan counter:\n\(listing)")
    }
    return count
  }

  @discardableResult
  func exec(_ namespace: String, _ command: [String], input: String? = nil) throws -> String {
    guard let input else { return try capture([tools.ip, "netns", "exec", namespace] + command) }
    let path = temporaryPath("in")
    defer { removeFile(path) }
    try writeTextFile(path, input)
    return try capture([tools.ip, "netns", "exec", namespace] + command.map { $0 == "-" ? path : $0 })
  }

  private func ip(_ arguments: String...) throws { try capture([tools.ip] + arguments) }
}
