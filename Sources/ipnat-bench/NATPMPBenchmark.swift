import ArgumentParser
#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// `ipnat natpmpd` under sequential load from a raw NAT-PMP client on the lan side: new
/// mappings while the table grows from 0 to --mappings, renewals with the table full (by
/// NAT-PMP, then by PCP MAP), then deletions back to 0; then --renewals UPnP AddPortMapping
/// requests, each on a connection of its own as UPnP clients make them. The public-address request, which
/// touches no kernel state, is the floor every other figure is compared with in the same run.
struct NATPMPBenchmark: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "natpmpd",
    abstract: "NAT-PMP, PCP and UPnP IGD requests per second and round trips of ipnat natpmpd (needs root).")

  @Option(help: "Mappings to create, then renew and delete.") var mappings = 10_000
  @Option(help: "Renewals to time with the table full.") var renewals = 2_000

  func validate() throws {
    guard (1_000...60_000).contains(mappings), mappings % 10 == 0, renewals >= 1 else {
      throw ValidationError("--mappings takes a multiple of 10 from 1,000 to 60,000")
    }
  }

  func run() throws {
    let tools = try Tools.locate()
    try tools.requireRoot()
    print(try Self.measure(mappings: mappings, renewals: renewals, tools: tools))
  }

  static func measure(mappings: Int, renewals: Int, tools: Tools) throws -> String {
    let lab = try RouterLab(tools: tools)
    defer { lab.close() }
    let configuration = temporaryPath("conf")
    defer { removeFile(configuration) }
    try writeTextFile(configuration, """
      interface rwan
      listen on 10.0.0.1
      external ports 1024-65535
      mappings per client 65535
      upnp on
      """)
    let daemon = try spawnProcess([tools.ip, "netns", "exec", lab.router, tools.ipnat, "natpmpd", "-d", "-f", configuration])
    defer {
      kill(daemon, SIGTERM)
      var status: Int32 = 0
      waitpid(daemon, &status, 0)
    }
    var ready = false
    for _ in 0..<200 where !ready {
      ready = (try? lab.exec(lab.router, [tools.nft, "list", "table", "inet", "ipnat_natpmpd"]))?.contains("dnat") ?? false
      if !ready { usleep(50_000) }
    }
    guard ready else { throw BenchError("natpmpd did not start") }
    func client(_ phase: String) throws -> String {
      try lab.exec(lab.lan, [tools.bench, "natpmp-client", phase, "--server", "10.0.0.1", "--mappings", String(mappings),
                             "--renewals", String(renewals)])
    }
    func kernelElements() throws -> Int {
      let listing = try lab.exec(lab.router, [tools.nft, "-j", "list", "map", "inet", "ipnat_natpmpd", "mappings"])
      return listing.split(separator: "\"concat\"", omittingEmptySubsequences: false).count / 2
    }
    var report = ["| requests | table size | requests/s | median round trip | p99 |", "|---|---|---:|---:|---:|"]
    report.append(try client("create"))
    // The kernel must hold what the daemon granted.
    let created = try kernelElements()
    guard created == mappings else { throw BenchError("the kernel holds \(created) mappings, not \(mappings)") }
    report.append(try client("renew"))
    report.append(try client("pcp-renew"))
    report.append(try client("delete"))
    guard try kernelElements() == 0 else { throw BenchError("mappings left in the kernel after deleting them all") }
    report.append(try client("upnp-add"))
    guard try kernelElements() == renewals else { throw BenchError("the kernel does not hold the UPnP mappings") }
    return report.joined(separator: "\n")
  }
}

/// The raw client, run inside the lab's lan namespace: one request in flight at a time, each
/// answer checked (opcode, port, result 0), a 1 s timeout per request.
struct NATPMPClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "natpmp-client", abstract: "Time sequential NAT-PMP and PCP requests (used by 'natpmpd').", shouldDisplay: false)

  enum Phase: String, ExpressibleByArgument {
    /// The public-address floor, then new mappings 0 → N in ten steps.
    case create
    /// Random renewals with N mappings present.
    case renew
    /// The same by PCP MAP (the first request for a mapping also gives it the nonce).
    case pcpRenew = "pcp-renew"
    /// Deletions N → 0.
    case delete
    /// UPnP: GetExternalIPAddress (no kernel change), then AddPortMapping of --renewals TCP
    /// ports, each request on a new HTTP connection.
    case upnpAdd = "upnp-add"
  }

  @Argument var phase: Phase
  @Option var server: String
  @Option var mappings: Int
  @Option var renewals: Int

  func run() throws {
    let socket = try Self.connect(to: server)
    defer { close(socket) }
    var rows: [String] = []
    func row(_ name: String, _ sizes: String, _ times: [Double]) {
      let total = times.reduce(0, +)
      let sorted = times.sorted()
      let p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
      rows.append("| \(name) | \(sizes) | \((Double(times.count) / total).rounded(0)) | "
        + "\((median(times) * 1e6).rounded(0)) µs | \((p99 * 1e6).rounded(0)) µs |")
    }
    // Warm both ends up first; then the floor: a request that changes nothing in the kernel.
    for _ in 0..<1_000 { _ = try Self.time(socket, request: [0, 0], expect: 0) }
    let floor = try (0..<2_000).map { _ in try Self.time(socket, request: [0, 0], expect: 0) }
    row("public address (no kernel change)", phase.rawValue, floor)
    switch phase {
    case .create:
      let step = mappings / 10
      var creation: [[Double]] = []
      for bucket in 0..<10 {
        creation.append(try (0..<step).map { index in
          try Self.time(socket, request: Self.mapping(port: 1 + bucket * step + index, lifetime: 3600), expect: 1)
        })
      }
      row("new mappings", "0 → \(step.formatted)", creation[0])
      row("new mappings", "\((mappings - step).formatted) → \(mappings.formatted)", creation[9])
      row("new mappings, all", "0 → \(mappings.formatted)", creation.flatMap { $0 })
      let flatness = creation[0].reduce(0, +) / creation[9].reduce(0, +)
      rows.append("| last tenth's rate / first tenth's | | \(flatness.rounded(2)) | | |")
    case .renew:
      var generator = SystemRandomNumberGenerator()
      let renewed = try (0..<renewals).map { _ in
        try Self.time(socket, request: Self.mapping(port: Int.random(in: 1...mappings, using: &generator), lifetime: 3600),
                      expect: 1)
      }
      row("renewals", mappings.formatted, renewed)
    case .pcpRenew:
      var generator = SystemRandomNumberGenerator()
      let renewed = try (0..<renewals).map { _ in
        let request = Self.pcpMapping(port: Int.random(in: 1...mappings, using: &generator), lifetime: 3600)
        return try Self.time(socket, request: request) { reply in
          reply.count == 60 && reply[0] == 2 && reply[1] == 0x81 && reply[3] == 0 && reply[40...41] == request[40...41]
        }
      }
      row("PCP MAP renewals", mappings.formatted, renewed)
    case .delete:
      let deleted = try (1...mappings).map { port in try Self.time(socket, request: Self.mapping(port: port, lifetime: 0), expect: 1) }
      row("deletions", "\(mappings.formatted) → 0", deleted)
    case .upnpAdd:
      for _ in 0..<200 { _ = try UPnPClient.time(server, "GetExternalIPAddress", []) }
      row("UPnP GetExternalIPAddress (no kernel change)", "", try (0..<renewals).map { _ in
        try UPnPClient.time(server, "GetExternalIPAddress", [])
      })
      row("UPnP AddPortMapping", "0 → \(renewals.formatted)", try (0..<renewals).map { index in
        let port = String(20_000 + index)
        return try UPnPClient.time(server, "AddPortMapping", [
          ("NewRemoteHost", ""), ("NewExternalPort", port), ("NewProtocol", "TCP"), ("NewInternalPort", port),
          ("NewInternalClient", "10.0.0.2"), ("NewEnabled", "1"), ("NewPortMappingDescription", "bench"),
          ("NewLeaseDuration", "3600"),
        ])
      })
    }
    print(rows.joined(separator: "\n"), terminator: "")
  }

  /// UDP mapping request for `port` (suggested external port 0).
  static func mapping(port: Int, lifetime: UInt32) -> [UInt8] {
    [0, 1, 0, 0, UInt8(port >> 8), UInt8(port & 0xff), 0, 0,
     UInt8(lifetime >> 24), UInt8(lifetime >> 16 & 0xff), UInt8(lifetime >> 8 & 0xff), UInt8(lifetime & 0xff)]
  }

  /// A PCP MAP request (RFC 6887 §11.1) from the lan client, 10.0.0.2, for UDP `port`, with
  /// one nonce for all.
  static func pcpMapping(port: Int, lifetime: UInt32) -> [UInt8] {
    var request: [UInt8] = [2, 1, 0, 0] + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: lifetime >> $0) }
    request += [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 10, 0, 0, 2]
    request += [UInt8](repeating: 0x5a, count: 12) + [17, 0, 0, 0, UInt8(port >> 8), UInt8(port & 0xff), 0, 0]
    return request + [UInt8](repeating: 0, count: 16)
  }

  /// Sends one NAT-PMP request and waits for its successful answer: opcode + 128, result 0, the
  /// internal port echoed. Returns the round trip in seconds.
  static func time(_ socket: Int32, request: [UInt8], expect opcode: UInt8) throws -> Double {
    try time(socket, request: request) { reply in
      reply.count >= 8 && reply[1] == 128 + opcode && reply[2] == 0 && reply[3] == 0
        && (opcode == 0 || reply[8...9] == request[4...5])
    }
  }

  /// Sends one request and waits for an answer `isExpected` accepts; returns the round trip in seconds.
  static func time(_ socket: Int32, request: [UInt8], isExpected: ([UInt8]) -> Bool) throws -> Double {
    var reply = [UInt8](repeating: 0, count: 1100)
    let start = now()
    guard send(socket, request, request.count, 0) == request.count else { throw BenchError("send: \(errno)") }
    let count = recv(socket, &reply, reply.count, 0)
    let elapsed = now() - start
    guard count > 0 else { throw BenchError("no answer within 1 s") }
    guard isExpected(Array(reply.prefix(count))) else { throw BenchError("unexpected answer \(reply.prefix(count))") }
    return elapsed
  }

  static func connect(to server: String) throws -> Int32 {
    try connectedSocket(to: server, port: 5351, type: SOCK_DGRAM, timeout: 1)
  }

}

/// A UPnP control point reduced to one thing: a SOAP action on a new connection, answered 200.
enum UPnPClient {
  static let service = "urn:schemas-upnp-org:service:WANIPConnection:1"

  /// The round trip of one action, connection set-up included, in seconds.
  static func time(_ server: String, _ action: String, _ arguments: [(String, String)]) throws -> Double {
    let body = "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
      + "<s:Body><u:\(action) xmlns:u=\"\(service)\">" + arguments.map { "<\($0.0)>\($0.1)</\($0.0)>" }.joined()
      + "</u:\(action)></s:Body></s:Envelope>"
    let request = Array(("POST /ctl/IPConn HTTP/1.1\r\nHost: \(server):5000\r\nContent-Type: text/xml\r\n"
      + "SOAPAction: \"\(service)#\(action)\"\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body).utf8)
    let start = now()
    let descriptor = try connect(to: server)
    defer { close(descriptor) }
    guard send(descriptor, request, request.count, 0) == request.count else { throw BenchError("send: \(errno)") }
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = recv(descriptor, &buffer, buffer.count, 0)
      guard count > 0 else { break }
      answer += buffer.prefix(count)
    }
    let elapsed = now() - start
    guard answer.starts(with: Array("HTTP/1.1 200".utf8)) else {
      throw BenchError("\(action): \(String(decoding: answer.prefix(200), as: UTF8.self))")
    }
    return elapsed
  }

  static func connect(to server: String) throws -> Int32 {
    try connectedSocket(to: server, port: 5000, type: SOCK_STREAM, timeout: 2)
  }

}

/// A socket connected to `server`:`port`, receiving with a timeout of `timeout` seconds.
func connectedSocket(to server: String, port: UInt16, type: __socket_type, timeout: Int) throws -> Int32 {
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_port = in_port_t(port.bigEndian)
  guard inet_pton(AF_INET, server, &address.sin_addr) == 1 else { throw ValidationError("--server takes an IPv4 address") }
  let descriptor = socket(AF_INET, Int32(type.rawValue), 0)
  var limit = timeval(tv_sec: timeout, tv_usec: 0)
  setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
  let connected = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
  }
  guard connected == 0 else {
    close(descriptor)
    throw BenchError("connect: \(String(cString: strerror(errno)))")
  }
  return descriptor
}
