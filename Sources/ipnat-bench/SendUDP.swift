import ArgumentParser
#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The traffic of the connection-rate benchmark, run inside the lab's lan namespace: small
/// datagrams, each with a (source port, destination port) pair of its own, so that each is a
/// new conntrack entry and passes through the NAT chains. Bounded by a count and a time.
struct SendUDP: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "send-udp", abstract: "Send datagrams, each a new flow (used by 'connections').", shouldDisplay: false)

  @Option var from: String
  @Option var to: String
  @Option(help: "Datagrams to send at most.") var count = 25_000
  @Option(help: "Seconds to send for at most.") var seconds = 3.0
  @Option(help: "The first of 64 source ports; each run takes its own, so its flows are new.") var firstPort = 20_000

  static let socketCount = 64

  func validate() throws {
    guard firstPort >= 1024, firstPort + Self.socketCount <= 65536, count > 0,
      count / Self.socketCount < 64_000
    else { throw ValidationError("--first-port or --count out of range") }
  }

  func run() throws {
    var source = sockaddr_in()
    var destination = sockaddr_in()
    guard inet_pton(AF_INET, from, &source.sin_addr) == 1, inet_pton(AF_INET, to, &destination.sin_addr) == 1 else {
      throw ValidationError("--from and --to take IPv4 addresses")
    }
    source.sin_family = sa_family_t(AF_INET)
    destination.sin_family = sa_family_t(AF_INET)
    var sockets: [Int32] = []
    defer { sockets.forEach { Glibc.close($0) } }
    for index in 0..<Self.socketCount {
      let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
      guard descriptor >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno)))") }
      sockets.append(descriptor)
      source.sin_port = in_port_t(UInt16(firstPort + index).bigEndian)
      let bound = withUnsafePointer(to: &source) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
      }
      guard bound == 0 else { throw BenchError("bind: \(String(cString: strerror(errno)))") }
    }
    let payload = [UInt8](repeating: 0x61, count: 18)
    var sent = 0
    let start = now()
    for index in 0..<count {
      if index % 256 == 0, now() - start > seconds { break }
      destination.sin_port = in_port_t(UInt16(1024 + index / Self.socketCount).bigEndian)
      let result = withUnsafePointer(to: &destination) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          sendto(sockets[index % Self.socketCount], payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      if result == payload.count { sent += 1 }
    }
    print("sent \(sent) seconds \(now() - start)")
  }
}
