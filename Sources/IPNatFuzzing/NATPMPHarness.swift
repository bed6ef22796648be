import IPNatDiagnostics
import NATPMP
import NFTKernel

/// natpmpd's two readers of untrusted bytes: natpmpd.conf, and datagrams from the network
/// (NAT-PMP and PCP).
/// The input is read as a configuration, then cut into datagrams that one server answers in
/// turn, from clients and at times the input also chooses. A crash or a broken invariant traps.
public enum NATPMPHarness {
  public static func exercise(_ bytes: [UInt8]) {
    let file = SourceFile(name: "natpmpd.conf", bytes: bytes)
    let parsed = ConfigurationParser.parse(file)
    _ = DiagnosticRenderer(useColor: true).render(parsed.diagnostics, in: file)

    let configuration = DaemonConfiguration(externalInterface: "wan0", listenAddresses: [0x0A00_0001],
                                            externalPorts: 50000...50063, mappingsPerClient: 16)
    let store = CheckingStore(configuration: configuration)
    let service = NATPMPService(configuration: configuration, store: store, generator: SeededGenerator(state: 1))
    _ = try? service.setExternalAddress(0xC000_0201, now: 0)
    var now: UInt64 = 0
    var rest = bytes[...]
    // Each datagram: one byte of length (up to 31), one of client, one of time step; then its bytes.
    while rest.count >= 3 {
      let length = Int(rest[rest.startIndex] & 0x1f)
      let client = 0x0A00_0000 | UInt32(rest[rest.startIndex + 1] & 0x07)
      now += UInt64(rest[rest.startIndex + 2]) * 100
      rest = rest.dropFirst(3)
      let datagram = Array(rest.prefix(length))
      rest = rest.dropFirst(length)
      store.sender = client
      if let reply = service.respond(to: datagram, from: client, now: now).bytes {
        let natpmp = reply.count >= 8 && reply[0] == 0 && reply[1] >= 128
        let pcp = reply.count >= 24 && reply.count % 4 == 0 && reply[0] == 2 && reply[1] >= 128
        precondition(natpmp || pcp, "neither a NAT-PMP nor a PCP response: \(reply)")
        precondition(reply.count <= max(datagram.count, 8) + 4, "an answer larger than its request allows: \(reply)")
      }
      service.expire(now: now)
    }
  }
}

/// Checks what the server installs: the sender's own address, ports from the range, elements
/// the linearizer encodes.
private final class CheckingStore: MappingStore {
  let configuration: DaemonConfiguration
  var sender: UInt32 = 0

  init(configuration: DaemonConfiguration) { self.configuration = configuration }

  func install(_ mappings: [Mapping], now: UInt64) throws {
    for mapping in mappings {
      precondition(mapping.client == sender, "a mapping for another client than the sender")
      precondition(configuration.externalPorts.contains(mapping.externalPort), "an external port outside the range")
      precondition(mapping.expiry > now, "a mapping that has already expired")
      do {
        _ = try Linearizer.element(KernelLayout.element(mapping), of: KernelLayout.map, timeout: mapping.expiry - now)
        _ = try Linearizer.element(KernelLayout.outboundElement(mapping), of: KernelLayout.outboundMap,
                                   timeout: mapping.expiry - now)
      } catch {
        fatalError("the linearizer refused a mapping: \(error)")
      }
    }
  }

  func renew(_ mappings: [Mapping], previous: [Mapping], now: UInt64) throws { try install(mappings, now: now) }

  func remove(_ mappings: [Mapping]) throws {
    precondition(mappings.allSatisfy { $0.client == sender }, "a client removed another's mapping")
  }

  func rebuild(externalAddress: UInt32?, mappings: [Mapping], now: UInt64) throws {}

  func dropConnections(of mappings: [Mapping], _ which: ConnectionsToDrop, externalAddress: UInt32) throws {}
}

/// SplitMix64: the same ports for the same input, so that a crash replays.
private struct SeededGenerator: RandomNumberGenerator {
  var state: UInt64

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var value = state
    value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
    value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
    return value ^ (value >> 31)
  }
}
