import Foundation

/// Three network namespaces made for one test, joined by veth pairs:
///
/// ```
/// inside (eth0)  ──  (rlan) router (WAN)   ──  (eth0) outside
/// 10.0.0.2,.3,.5,.6    10.0.0.1   192.0.2.1          192.0.2.2
/// fd00:10::2,::5,::6   fd00:10::1 2001:db8:2::1      2001:db8:2::2
/// ```
///
/// The outside host routes the NAT pools (203.0.113.0/24, 198.51.100.0/24, 2001:db8:ff::/48)
/// back to the router and has no route to the inside network, so an untranslated packet
/// cannot reach it. The router's outside interface is `rwan` unless a test names it after a
/// configuration's (`ppp0`, `eth0`): names are the namespace's own. Rules are loaded on the router only. Shared by the packet tests and
/// natpmpd's tests. Traffic never leaves these
/// namespaces, and `close()` deletes them, also when a test fails.
public final class Lab {
  public let inside: String
  public let router: String
  public let outside: String
  /// The router's outside interface.
  public let wan: String
  public let logDirectory: String
  private var background: [Process] = []

  static let ipPath = "/usr/sbin/ip"
  static let timeoutPath = "/usr/bin/timeout"
  public static let python = ProcessInfo.processInfo.environment["PATH", default: "/usr/bin"].split(separator: ":")
    .map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
  static let probe = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Tools/probe.py").path

  /// Root, iproute2, nft and python3: what these tests need. CI sets IPNAT_REQUIRE_NFT=1, and
  /// then a missing piece fails the run instead of skipping the tests.
  public static let isAvailable: Bool = {
    let usable = geteuid() == 0 && python != nil && FileManager.default.isExecutableFile(atPath: ipPath)
      && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft")
    if !usable, ProcessInfo.processInfo.environment["IPNAT_REQUIRE_NFT"] != nil {
      fatalError("IPNAT_REQUIRE_NFT is set but the packet tests cannot run (need root, ip, nft and python3)")
    }
    return usable
  }()

  nonisolated(unsafe) private static var count = 0
  private static let lock = NSLock()

  public init(wan: String = "rwan") throws {
    self.wan = wan
    let number = Self.lock.withLock {
      if Self.count == 0 { Self.removeAbandonedNamespaces() }
      Self.count += 1
      return Self.count
    }
    let prefix = "ipnt\(getpid() % 100_000)x\(number)"
    (inside, router, outside) = (prefix + "i", prefix + "r", prefix + "o")
    logDirectory = NSTemporaryDirectory() + prefix
    try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
    do {
      try build()
    } catch {
      close()
      throw error
    }
  }

  /// Namespaces left by a test process that was killed (`withLab` cannot clean up after
  /// SIGKILL): those named `ipnt<PID>x<N>…` whose process is gone. A live process's are kept.
  private static func removeAbandonedNamespaces() {
    guard let list = try? ipOutput(["netns", "list"]) else { return }
    for line in list.split(separator: "\n") {
      let name = String(line.split(separator: " ").first ?? "")
      guard name.hasPrefix("ipnt"), let pidText = name.dropFirst(4).split(separator: "x").first,
            let pid = Int32(pidText), pid != getpid() % 100_000 else { continue }
      // The name keeps the pid modulo 100,000: any live process it may stand for keeps them.
      let alive = stride(from: pid, through: 4_194_304, by: 100_000).contains { kill($0, 0) == 0 || errno == EPERM }
      if !alive { _ = try? ipOutput(["netns", "del", name]) }
    }
  }

  private func build() throws {
    for namespace in [inside, router, outside] {
      try ip("netns", "add", namespace)
      try ip("-n", namespace, "link", "set", "lo", "up")
      // No duplicate address detection: a link-local address is tentative for a second or two
      // after the link comes up, and the first IPv6 packets would be lost meanwhile.
      _ = try run(namespace, ["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"])
    }
    try ip("-n", router, "link", "add", "rlan", "type", "veth", "peer", "name", "eth0", "netns", inside)
    try ip("-n", router, "link", "add", wan, "type", "veth", "peer", "name", "eth0", "netns", outside)
    // The fixed addresses, each on its link's network: /24 for IPv4, /64 for IPv6.
    func add(_ address: String, in namespace: String, dev: String) throws {
      _ = try Self.ipOutput(["-n", namespace, "addr", "add", address + (address.contains(":") ? "/64" : "/24"), "dev", dev]
        + (address.contains(":") ? ["nodad"] : []))
    }
    for address in Self.insideAddresses.sorted() { try add(address, in: inside, dev: "eth0") }
    for address in Self.outsideAddresses.sorted() { try add(address, in: outside, dev: "eth0") }
    for address in Self.routerInsideAddresses.sorted() { try add(address, in: router, dev: "rlan") }
    for address in Self.routerOutsideAddresses.sorted() { try add(address, in: router, dev: wan) }
    try ip("-n", inside, "link", "set", "eth0", "up")
    try ip("-n", outside, "link", "set", "eth0", "up")
    try ip("-n", router, "link", "set", "rlan", "up")
    try ip("-n", router, "link", "set", wan, "up")
    try ip("-n", inside, "route", "add", "default", "via", "10.0.0.1")
    try ip("-n", inside, "-6", "route", "add", "default", "via", "fd00:10::1")
    for pool in ["203.0.113.0/24", "198.51.100.0/24"] {
      try ip("-n", outside, "route", "add", pool, "via", "192.0.2.1")
    }
    try ip("-n", outside, "-6", "route", "add", "2001:db8:ff::/48", "via", "2001:db8:2::1")
    _ = try run(router, ["sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"])
  }

  public func close() {
    // Every process left in the lab's namespaces, servers and their `timeout` wrappers alike.
    for namespace in [inside, router, outside] {
      let pids = (try? ipOutput("netns", "pids", namespace)) ?? ""
      for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
    }
    for process in background where process.isRunning { process.terminate() }
    for process in background { process.waitUntilExit() }
    for namespace in [inside, router, outside] { try? ip("netns", "del", namespace) }
    try? FileManager.default.removeItem(atPath: logDirectory)
  }

  // MARK: - Addresses a test chooses

  /// Gives the inside host and the outside host more addresses (IPv4 or IPv6, as text), each
  /// routed to it by the router, and makes each host send everything else to the router, its
  /// own link network included. Then any address can be a host's, wherever it lies: a source
  /// in a configuration's inside network, a server on the far side, a translated address in
  /// the link network (`-> 192.0.2.0/24`) that the outside host must answer through the router.
  /// `routedOut` are addresses no host holds that the router routes out of its WAN: where
  /// packets whose destination a rule changes were going (`fib daddr oifname` asks).
  public func hold(inside: [String], outside: [String], routedOut: [String] = []) throws {
    var commands: [String: [String]] = [self.inside: [], self.outside: [], router: []]
    func length(_ address: String) -> String { address.contains(":") ? "128" : "32" }
    for (host, routerSide, addresses) in [(self.inside, "rlan", inside), (self.outside, wan, outside)] {
      for address in addresses where !Self.fixedAddresses.contains(address) {
        commands[host]!.append("address add \(address)/\(length(address)) dev eth0" + (length(address) == "128" ? " nodad" : ""))
        commands[router]!.append("route add \(address)/\(length(address)) dev \(routerSide)")
      }
    }
    for address in Set(routedOut).subtracting(inside).subtracting(outside).subtracting(Self.fixedAddresses).sorted() {
      commands[router]!.append("route add \(address)/\(length(address)) dev \(wan)")
    }
    for (host, v4Gateway, v6Gateway, v4Link, v6Link) in [
      (self.inside, "10.0.0.1", "fd00:10::1", "10.0.0", "fd00:10:0:0"),
      (self.outside, "192.0.2.1", "2001:db8:2::1", "192.0.2", "2001:db8:2:0"),
    ] {
      if host == self.outside {
        commands[host]! += ["route add default via \(v4Gateway)", "route add ::/0 via \(v6Gateway)"]
      }
      // More specific than the link's own route, so the link's other addresses go through the
      // router too; `onlink`, so the gateway need not be reached through these routes.
      commands[host]! += ["route add \(v4Link).0/25 via \(v4Gateway) dev eth0 onlink",
                          "route add \(v4Link).128/25 via \(v4Gateway) dev eth0 onlink",
                          "route add \(v6Link)::/65 via \(v6Gateway) dev eth0 onlink",
                          "route add \(v6Link):8000::/65 via \(v6Gateway) dev eth0 onlink"]
    }
    for (namespace, lines) in commands where !lines.isEmpty {
      let path = "\(logDirectory)/ip-batch-\(namespace)"
      try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
      try ip("-n", namespace, "-batch", path)
    }
  }

  /// The addresses each namespace holds from the start (as `build` gives them); `hold` leaves
  /// them alone, and a test must not ask another namespace to hold one of them.
  public static let insideAddresses: Set<String> = ["10.0.0.2", "10.0.0.3", "10.0.0.5", "10.0.0.6", "fd00:10::2", "fd00:10::5", "fd00:10::6"]
  public static let routerAddresses = routerInsideAddresses.union(routerOutsideAddresses)
  static let routerInsideAddresses: Set<String> = ["10.0.0.1", "fd00:10::1"]
  static let routerOutsideAddresses: Set<String> = ["192.0.2.1", "2001:db8:2::1"]
  public static let outsideAddresses: Set<String> = ["192.0.2.2", "2001:db8:2::2"]
  static let fixedAddresses = insideAddresses.union(routerAddresses).union(outsideAddresses)

  // MARK: - Traffic

  /// Starts any command in a namespace in the background (it is killed after 25 s at most,
  /// and with the lab); its output stays in the returned process's pipes.
  public func spawnCommand(_ namespace: String, _ command: [String]) throws -> Process {
    let process = try launch(namespace, command)
    background.append(process)
    return process
  }

  /// Starts probe.py in the background (servers); it ends by itself after 30 s at most.
  public func start(_ namespace: String, _ arguments: [String]) throws {
    let process = try launch(namespace, [Self.python!, Self.probe] + arguments)
    background.append(process)
  }

  /// Starts probe.py in the background and returns it, to read its output once it ends (it
  /// ends by itself after 30 s at most).
  public func spawn(_ namespace: String, _ arguments: [String]) throws -> Process {
    let process = try launch(namespace, [Self.python!, Self.probe] + arguments)
    background.append(process)
    return process
  }

  /// Runs probe.py to completion and returns its output lines.
  public func probe(_ namespace: String, _ arguments: [String]) throws -> [String] {
    try run(namespace, [Self.python!, Self.probe] + arguments).split(separator: "\n").map(String.init)
  }

  public func log(_ name: String) -> [String] {
    ((try? String(contentsOfFile: "\(logDirectory)/\(name)", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
  }

  public func logPath(_ name: String) -> String { "\(logDirectory)/\(name)" }

  /// Waits, at most five seconds, until a server has written its first log line.
  public func waitForLog(_ name: String) {
    for _ in 0..<100 where log(name).isEmpty { usleep(50_000) }
  }

  // MARK: - Processes

  public struct Failure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
  }

  private func ip(_ arguments: String...) throws { _ = try Self.ipOutput(arguments) }

  private func ipOutput(_ arguments: String...) throws -> String { try Self.ipOutput(arguments) }

  private static func ipOutput(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Self.ipPath)
    process.arguments = arguments
    let errors = Pipe()
    let output = Pipe()
    process.standardError = errors
    process.standardOutput = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw Failure("ip \(arguments.joined(separator: " ")): \(message)") }
    return text
  }

  /// Runs a command in a namespace, at most 25 seconds, and returns its standard output.
  public func run(_ namespace: String, _ command: [String], input: String? = nil) throws -> String {
    let process = try launch(namespace, command, input: input)
    let output = (process.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
    let errors = (process.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw Failure("\(command.joined(separator: " ")) in \(namespace) exited \(process.terminationStatus): "
        + String(decoding: errors, as: UTF8.self))
    }
    return String(decoding: output, as: UTF8.self)
  }

  private func launch(_ namespace: String, _ command: [String], input: String? = nil) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Self.ipPath)
    process.arguments = ["netns", "exec", namespace, Self.timeoutPath, "25"] + command
    // An `ipnat load` in the lab keeps its load record in the lab's directory, not in the
    // host's /run/ipnat, where it would outlive the lab.
    var environment = ProcessInfo.processInfo.environment
    environment["IPNAT_RUN_DIRECTORY"] = logDirectory + "/run"
    process.environment = environment
    process.standardOutput = Pipe()
    process.standardError = Pipe()
    let standardInput = Pipe()
    process.standardInput = standardInput
    try process.run()
    if let input { standardInput.fileHandleForWriting.write(Data(input.utf8)) }
    try standardInput.fileHandleForWriting.close()
    return process
  }
}

/// Runs `body` with a fresh lab and always tears it down.
public func withLab(_ body: (Lab) throws -> Void) throws {
  let lab = try Lab()
  defer { lab.close() }
  try body(lab)
}

/// The fields of a server's answer: `PEER_IP PEER_PORT LOCAL_IP LOCAL_PORT mss=N client-mss=M`.
public struct Answer {
  public var peerAddress: String
  public var peerPort: Int
  public var localAddress: String
  public var localPort: Int
  public var text: String

  public init?(_ line: String) {
    let fields = line.split(separator: " ").map(String.init)
    guard fields.count >= 4, let peerPort = Int(fields[1]), let localPort = Int(fields[3]) else { return nil }
    (peerAddress, self.peerPort, localAddress, self.localPort, text) = (fields[0], peerPort, fields[2], localPort, line)
  }

  public func value(of key: String) -> Int? {
    text.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
  }
}
