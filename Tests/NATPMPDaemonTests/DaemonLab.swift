import Foundation
import TestSupport
import Testing

/// `ipnat natpmpd -d -v` on the lab's router, serving the inside network (rlan, 10.0.0.1)
/// with rwan (192.0.2.1) as the external interface; its log goes to the lab's folder.
final class DaemonLab {
  let lab: Lab
  private(set) var process: Process

  static let natpmpcPath = "/usr/bin/natpmpc"
  static var isAvailable: Bool {
    required(Lab.isAvailable && FileManager.default.isExecutableFile(atPath: natpmpcPath),
             "natpmpd's tests cannot run (need root, ip, nft, python3 and natpmpc)")
  }

  /// Whether tests that need `usable` can run; CI sets IPNAT_REQUIRE_NFT, and then they must.
  static func required(_ usable: Bool, _ otherwise: String) -> Bool {
    if !usable, ProcessInfo.processInfo.environment["IPNAT_REQUIRE_NFT"] != nil {
      fatalError("IPNAT_REQUIRE_NFT is set but \(otherwise)")
    }
    return usable
  }

  init(lab: Lab, settings: String = "") throws {
    self.lab = lab
    writeFile(lab.logPath("natpmpd.conf"), "interface rwan\nlisten on 10.0.0.1\n" + settings)
    process = try Self.start(in: lab)
    try waitUntil("the daemon has learnt the external address") { table.contains("dnat ip to") }
  }

  /// For a daemon started some other way: waits until it serves, starts nothing.
  init(lab: Lab, attachingTo description: String) throws {
    self.lab = lab
    process = Process()
    try waitUntil("the \(description) daemon has learnt the external address") { table.contains("dnat ip to") }
  }

  private static func start(in lab: Lab) throws -> Process {
    try lab.spawnCommand(lab.router, ["/bin/sh", "-c", "exec \"$0\" natpmpd -d -v -f \"$1\" 2>>\"$2\"", Shell.ipnatPath,
                                      lab.logPath("natpmpd.conf"), lab.logPath("natpmpd.log")])
  }

  /// Runs `body` with a lab and a daemon in it, and tears both down.
  static func with(settings: String = "", _ body: (DaemonLab) throws -> Void) throws {
    try withLab { lab in try body(DaemonLab(lab: lab, settings: settings)) }
  }

  var log: [String] { lab.log("natpmpd.log") }

  /// The daemon's table as nft lists it, or "" when there is none.
  var table: String { (try? lab.run(lab.router, ["nft", "list", "table", "inet", "ipnat_natpmpd"])) ?? "" }

  /// The map's elements, `udp . 50000 … : 10.0.0.2 . 5000`, one per line.
  var elements: [String] {
    let text = (try? lab.run(lab.router, ["nft", "list", "map", "inet", "ipnat_natpmpd", "mappings"])) ?? ""
    guard let start = text.range(of: "elements = {") else { return [] }
    let body = text[start.upperBound...].prefix { $0 != "}" }
    return body.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
  }

  /// `natpmpc -g 10.0.0.1 ARGUMENTS` on the inside host; its output.
  func natpmpc(_ arguments: [String]) throws -> String {
    try lab.run(lab.inside, [Self.natpmpcPath, "-g", "10.0.0.1"] + arguments)
  }

  /// Maps a port with natpmpc and returns the external port it got.
  func map(_ transport: String, internalPort: Int, lifetime: Int) throws -> Int {
    let output = try natpmpc(["-a", "0", String(internalPort), transport, String(lifetime)])
    let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("Mapped public port") }, "\(output)")
    return try #require(Int(line.split(separator: " ")[3]))
  }

  /// Raw NAT-PMP datagrams from `namespace` (hex in, hex replies or "timeout" out).
  func send(_ datagrams: [String], from namespace: String? = nil, to server: String = "10.0.0.1") throws -> [String] {
    try lab.probe(namespace ?? lab.inside, ["natpmp", server] + datagrams + ["--wait", "0.5"])
  }

  /// The daemon's own process (not its `timeout` wrapper).
  var daemonPID: Int32? {
    let pids = (try? Shell.run("/usr/sbin/ip", ["netns", "pids", lab.router]).standardOutput) ?? ""
    return pids.split(separator: "\n").compactMap { Int32($0) }.first { pid in
      (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("ipnat") == true
    }
  }

  /// Stops the daemon with `signal` and waits for it, at most 10 s.
  func stop(with signal: Int32 = SIGTERM) throws {
    let pid = try #require(daemonPID)
    kill(pid, signal)
    try waitUntil("the daemon exits") { !process.isRunning }
  }

  func restart() throws {
    process = try Self.start(in: lab)
    try waitUntil("the daemon is back") { table.contains("dnat ip to") }
  }
}

extension Lab {
  /// One raw datagram to the daemon (10.0.0.1:5351) from `address` on the inside host: the
  /// reply in hex, "timeout", or nil when the probe printed nothing.
  func askDaemon(_ request: [UInt8], from address: String) throws -> String? {
    let hex = request.map { String(format: "%02x", $0) }.joined()
    return try probe(inside, ["natpmp", "10.0.0.1", hex, "--bind", address]).first
  }
}

/// Polls `condition` every 50 ms for at most `seconds`.
func waitUntil(_ what: String, seconds: Double = 10, _ condition: () -> Bool) throws {
  let deadline = Date().addingTimeInterval(seconds)
  while !condition() {
    guard Date() < deadline else { throw Lab.Failure("timed out waiting until \(what)") }
    usleep(50_000)
  }
}
