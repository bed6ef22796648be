import IPAddressing
import NATPMP
import TestSupport
import Testing

/// Records what the service asks of the kernel, and can refuse it.
final class RecordingStore: MappingStore {
  var installed: [[Mapping]] = []
  var removed: [[Mapping]] = []
  var rebuilt: [(address: UInt32?, mappings: [Mapping])] = []
  var failing = false

  struct Refused: Error {}

  func install(_ mappings: [Mapping], now: UInt64) throws {
    if failing { throw Refused() }
    installed.append(mappings)
  }

  /// Recorded with the installations: the tests ask what the kernel holds, not how it got it.
  func renew(_ mappings: [Mapping], previous: [Mapping], now: UInt64) throws { try install(mappings, now: now) }

  func remove(_ mappings: [Mapping]) throws {
    if failing { throw Refused() }
    removed.append(mappings)
  }

  func rebuild(externalAddress: UInt32?, mappings: [Mapping], now: UInt64) throws {
    if failing { throw Refused() }
    rebuilt.append((externalAddress, mappings))
  }

  var dropped: [[Mapping]] = []

  func dropConnections(of mappings: [Mapping], _ which: ConnectionsToDrop, externalAddress: UInt32) throws {
    dropped.append(mappings)
  }
}

/// A client's view: requests as bytes, replies read back.
struct Client {
  let service: NATPMPService
  let address: UInt32

  struct MappingReply: Equatable {
    var opcode: UInt8
    var result: UInt16
    var internalPort: UInt16
    var externalPort: UInt16
    var lifetime: UInt32
  }

  func map(_ transport: MappedProtocol, _ internalPort: UInt16, lifetime: UInt32, at now: UInt64 = 0,
           suggesting suggested: UInt16 = 0, padding: Int = 0) -> MappingReply {
    let request: [UInt8] = [0, transport.rawValue, 0, 0, UInt8(internalPort >> 8), UInt8(internalPort & 0xff),
                            UInt8(suggested >> 8), UInt8(suggested & 0xff),
                            UInt8(lifetime >> 24), UInt8(lifetime >> 16 & 0xff), UInt8(lifetime >> 8 & 0xff), UInt8(lifetime & 0xff)]
      + [UInt8](repeating: 0, count: padding)
    let bytes = service.respond(to: request, from: address, now: now).bytes!
    #expect(bytes.count == 16)
    func u16(_ offset: Int) -> UInt16 { UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }
    return MappingReply(opcode: bytes[1], result: u16(2), internalPort: u16(8), externalPort: u16(10),
                        lifetime: UInt32(u16(12)) << 16 | UInt32(u16(14)))
  }
}

@Suite struct ServiceTests {
  static let gateway: UInt32 = 0xC000_0201  // 192.0.2.1
  static let alice: UInt32 = 0x0A4D_0002  // 10.77.0.2
  static let bob: UInt32 = 0x0A4D_0003

  let store = RecordingStore()

  func service(_ configure: (inout DaemonConfiguration) -> Void = { _ in }, address: UInt32? = gateway) throws -> NATPMPService {
    var configuration = DaemonConfiguration(externalInterface: "wan0", listenAddresses: [0x0A4D_0001])
    configure(&configuration)
    let service = NATPMPService(configuration: configuration, store: store, generator: SplitMix64(seed: 7))
    _ = try service.setExternalAddress(address, now: 0)
    return service
  }

  @Test func answersTheExternalAddressAndTheSecondsSinceStart() throws {
    let reply = try service().respond(to: [0, 0], from: Self.alice, now: 12_345).bytes
    #expect(reply == [0, 128, 0, 0, 0, 0, 0, 12, 192, 0, 2, 1])
  }

  @Test func withoutAnExternalAddressEveryRequestIsANetworkFailure() throws {
    let service = try service(address: nil)
    #expect(service.respond(to: [0, 0], from: Self.alice, now: 0).bytes == [0, 128, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0])
    #expect(Client(service: service, address: Self.alice).map(.udp, 5000, lifetime: 60).result == 3)
    #expect(store.installed.isEmpty)
    // 0.0.0.0 is no address either.
    #expect(try service.setExternalAddress(0, now: 0) == false)
    #expect(service.externalAddress == nil)
  }

  @Test func mapsToARandomPortOfTheRangeForTheRequestedLifetime() throws {
    let service = try service { $0.externalPorts = 40000...40099 }
    let reply = Client(service: service, address: Self.alice).map(.udp, 5000, lifetime: 3600)
    #expect(reply.opcode == 129 && reply.result == 0 && reply.internalPort == 5000 && reply.lifetime == 3600)
    #expect((40000...40099).contains(reply.externalPort))
    let mapping = Mapping(transport: .udp, client: Self.alice, internalPort: 5000, externalPort: reply.externalPort,
                          expiry: 3_600_000)
    #expect(store.installed == [[mapping]])
  }

  @Test func tcpAndUdpOfOneClientPortShareTheirExternalPort() throws {
    let client = Client(service: try service(), address: Self.alice)
    let udp = client.map(.udp, 5000, lifetime: 60)
    let tcp = client.map(.tcp, 5000, lifetime: 60)
    #expect(tcp.externalPort == udp.externalPort)
    // Another client port, or another client, never gets it.
    #expect(client.map(.tcp, 5001, lifetime: 60).externalPort != udp.externalPort)
    #expect(Client(service: client.service, address: Self.bob).map(.udp, 5000, lifetime: 60).externalPort != udp.externalPort)
  }

  @Test func aRepeatedRequestRenewsTheSameMapping() throws {
    let client = Client(service: try service(), address: Self.alice)
    let first = client.map(.udp, 5000, lifetime: 60, at: 0)
    let second = client.map(.udp, 5000, lifetime: 120, at: 30_000)
    #expect(second.externalPort == first.externalPort && second.lifetime == 120)
    #expect(store.installed.count == 2)
    #expect(store.installed[1].first?.expiry == 150_000)
    #expect(store.removed.isEmpty, "a renewal must not take the live mapping down")
    #expect(client.service.table.count == 1)
  }

  @Test func lifetimeZeroDeletesOneMappingOrWithPortZeroAllOfTheProtocol() throws {
    let service = try service()
    let alice = Client(service: service, address: Self.alice)
    let udp5000 = alice.map(.udp, 5000, lifetime: 60)
    _ = alice.map(.udp, 5001, lifetime: 60)
    _ = alice.map(.tcp, 5000, lifetime: 60)
    _ = Client(service: service, address: Self.bob).map(.udp, 6000, lifetime: 60)

    let deleted = alice.map(.udp, 5000, lifetime: 0)
    #expect(deleted == Client.MappingReply(opcode: 129, result: 0, internalPort: 5000, externalPort: 0, lifetime: 0))
    #expect(store.removed.last?.map(\.externalPort) == [udp5000.externalPort])
    // Deleting what is gone still succeeds, and asks nothing of the kernel.
    #expect(alice.map(.udp, 5000, lifetime: 0).result == 0)
    #expect(store.removed.count == 1)

    #expect(alice.map(.udp, 0, lifetime: 0).result == 0)
    #expect(store.removed.last?.map(\.internalPort) == [5001])
    let left = service.table.mappings.keys.map { "\($0.transport) \($0.internalPort)" }.sorted()
    #expect(left == ["TCP 5000", "UDP 6000"])
  }

  /// A deletion needs no external address, and the deleted mapping does not come back with
  /// the address.
  @Test func deletesWithoutAnExternalAddress() throws {
    let service = try service()
    let alice = Client(service: service, address: Self.alice)
    _ = alice.map(.udp, 5000, lifetime: 60)
    _ = try service.setExternalAddress(nil, now: 1_000)
    #expect(alice.map(.udp, 5000, lifetime: 0, at: 2_000).result == 0)
    #expect(service.table.count == 0 && store.removed.count == 1)
    _ = try service.setExternalAddress(Self.gateway, now: 3_000)
    #expect(store.rebuilt.last?.mappings == [])
  }

  /// The suggested port is granted when the range has it free (RFC 6886 §3.3), so a client keeps
  /// its public port across restarts; a taken or out-of-range one gets a port at random.
  @Test func grantsTheSuggestedPortWhenFree() throws {
    let service = try service { $0.externalPorts = 40000...40099 }
    let alice = Client(service: service, address: Self.alice)
    #expect(alice.map(.udp, 5000, lifetime: 60, suggesting: 40042).externalPort == 40042)
    let bob = Client(service: service, address: Self.bob)
    let taken = bob.map(.udp, 5000, lifetime: 60, suggesting: 40042).externalPort
    #expect(taken != 40042 && (40000...40099).contains(taken))
    let outside = bob.map(.udp, 5001, lifetime: 60, suggesting: 1234).externalPort
    #expect(outside != 1234 && (40000...40099).contains(outside))
  }

  /// A request longer than its message is answered from its defined part.
  @Test func answersTheDefinedPartOfALongRequest() throws {
    let service = try service()
    #expect(Client(service: service, address: Self.alice).map(.tcp, 5000, lifetime: 60, padding: 4).result == 0)
    #expect(service.respond(to: [0, 0, 0, 0], from: Self.alice, now: 0).bytes?.count == 12)
    #expect(service.respond(to: [0, 1, 0, 0, 0], from: Self.alice, now: 0).bytes == nil, "a short one is not")
  }

  /// Changes to mappings are what the default log records, not mere questions.
  @Test func marksTheRequestsThatChangeMappings() throws {
    let service = try service()
    #expect(service.respond(to: [0, 0], from: Self.alice, now: 0).changedMappings == false)
    let request: [UInt8] = [0, 1, 0, 0, 0x13, 0x88, 0, 0, 0, 0, 0, 60]
    #expect(service.respond(to: request, from: Self.alice, now: 0).changedMappings)
    #expect(service.respond(to: [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 60], from: Self.alice, now: 0).changedMappings == false)
  }

  @Test func refusesPortsOutsideTheInternalRangeAndPortZero() throws {
    let client = Client(service: try service { $0.internalPorts = 1024...65535 }, address: Self.alice)
    #expect(client.map(.tcp, 80, lifetime: 60).result == 2)
    #expect(client.map(.tcp, 0, lifetime: 60).result == 2)
    #expect(client.map(.tcp, 1024, lifetime: 60).result == 0)
  }

  /// `allow`/`deny` lines, first match deciding: an allowed port outside the range is granted
  /// when suggested; random ports keep off denied ones; a client denied everything is refused
  /// as not authorized, not as out of resources.
  @Test func permissionRulesDecideWhichPortsAClientMayHave() throws {
    let service = try service {
      $0.externalPorts = 40000...40009
      $0.permissions = [
        PermissionRule(allows: true, externalPorts: 3074...3074, network: AddressPrefix(.ipv4(Self.alice), length: 32),
                       internalPorts: 3074...3074),
        PermissionRule(allows: false, externalPorts: 0...65535, network: AddressPrefix(.ipv4(Self.bob), length: 32),
                       internalPorts: 0...65535),
        PermissionRule(allows: false, externalPorts: 40000...40008, network: AddressPrefix(.ipv4(0), length: 0),
                       internalPorts: 0...65535),
      ]
    }
    let alice = Client(service: service, address: Self.alice)
    #expect(alice.map(.udp, 3074, lifetime: 60, suggesting: 3074).externalPort == 3074, "allowed outside the range")
    #expect(alice.map(.udp, 3075, lifetime: 60, suggesting: 3075).externalPort == 40009, "the one port not denied")
    #expect(alice.map(.udp, 3076, lifetime: 60).result == 4, "that one is taken now")
    #expect(Client(service: service, address: Self.bob).map(.udp, 5000, lifetime: 60).result == 2)
  }

  @Test func capsTheMappingsOfOneClient() throws {
    let service = try service { $0.mappingsPerClient = 3 }
    let alice = Client(service: service, address: Self.alice)
    for port in UInt16(1)...3 { #expect(alice.map(.udp, port, lifetime: 60).result == 0) }
    #expect(alice.map(.udp, 4, lifetime: 60).result == 4)
    // A renewal is not a new mapping, and other clients have their own quota.
    #expect(alice.map(.udp, 1, lifetime: 60).result == 0)
    #expect(Client(service: service, address: Self.bob).map(.udp, 4, lifetime: 60).result == 0)
  }

  @Test func runsOutOfResourcesWhenThePortRangeIsUsedUp() throws {
    let service = try service { $0.externalPorts = 50000...50001 }
    let alice = Client(service: service, address: Self.alice)
    let ports = [alice.map(.udp, 1, lifetime: 60).externalPort, alice.map(.udp, 2, lifetime: 60).externalPort]
    #expect(Set(ports) == [50000, 50001])
    #expect(alice.map(.udp, 3, lifetime: 60).result == 4)
    // TCP for a mapped client port shares its port, so it still fits.
    #expect(alice.map(.tcp, 1, lifetime: 60).result == 0)
  }

  @Test func aMappingTheKernelRefusedDoesNotExist() throws {
    let service = try service()
    store.failing = true
    #expect(Client(service: service, address: Self.alice).map(.udp, 5000, lifetime: 60).result == 3)
    #expect(service.table.count == 0)
  }

  @Test func grantsAtMostADay() throws {
    let reply = Client(service: try service(), address: Self.alice).map(.udp, 5000, lifetime: .max)
    #expect(reply.lifetime == DaemonConfiguration.defaultLifetimes.upperBound)
  }

  @Test func forgetsExpiredMappingsAndFreesTheirPorts() throws {
    let service = try service { $0.externalPorts = 50000...50000 }
    let alice = Client(service: service, address: Self.alice)
    #expect(alice.map(.udp, 1, lifetime: 10, at: 0).result == 0)
    #expect(alice.map(.udp, 2, lifetime: 10, at: 1000).result == 4)
    #expect(service.expire(now: 9_999).isEmpty)
    #expect(service.expire(now: 10_000).count == 1)
    #expect(alice.map(.udp, 2, lifetime: 10, at: 10_000).externalPort == 50000)
  }

  @Test func aNewAddressRebuildsTheTableWithTheMappingsThatRemain() throws {
    let service = try service()
    let alice = Client(service: service, address: Self.alice)
    _ = alice.map(.udp, 1, lifetime: 10, at: 0)
    _ = alice.map(.udp, 2, lifetime: 100, at: 0)
    #expect(try service.setExternalAddress(0xC000_0202, now: 50_000))
    #expect(store.rebuilt.last?.address == 0xC000_0202)
    #expect(store.rebuilt.last?.mappings.map(\.internalPort) == [2])
    #expect(service.respond(to: [0, 0], from: Self.alice, now: 50_000).bytes?.suffix(4) == [192, 0, 2, 2])
    #expect(try service.setExternalAddress(0xC000_0202, now: 50_000) == false)
  }

  @Test func answersOtherVersionsAndOpcodesAndIgnoresResponses() throws {
    let service = try service()
    #expect(service.respond(to: [1, 0], from: Self.alice, now: 2000).bytes == [0, 128, 0, 1, 0, 0, 0, 2])
    #expect(service.respond(to: [0, 9, 1, 2], from: Self.alice, now: 0).bytes == [0, 137, 0, 5, 0, 0, 0, 0])
    #expect(service.respond(to: [0, 129] + [UInt8](repeating: 0, count: 14), from: Self.alice, now: 0).bytes == nil)
  }

  @Test func randomDatagramsNeverTrapAndNeverGetALargerAnswerThanEightBytesPlusTheirOwn() throws {
    let service = try service()
    var generator = SplitMix64(seed: 1)
    for _ in 0..<20_000 {
      let length = generator.next(below: 20)
      var datagram = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
      // Half of them look like NAT-PMP, so that they reach past the version check.
      if length >= 2, generator.next(below: 2) == 0 { datagram[0] = 0; datagram[1] = UInt8(generator.next(below: 4)) }
      let client = UInt32(truncatingIfNeeded: generator.next())
      if let reply = service.respond(to: datagram, from: client, now: generator.next() >> 20).bytes {
        #expect(reply.count <= max(datagram.count, 8) + 4)
      }
    }
    #expect(service.table.mappings.values.allSatisfy { DaemonConfiguration.defaultExternalPorts.contains($0.externalPort) })
  }
}

@Suite struct ListenNetworkTests {
  let network = ListenNetwork(address: 0x0A4D_0001, prefixLength: 24, interfaceIndex: 3, interfaceName: "lan0")

  @Test func admitsHostsOfItsNetworkOnItsInterfaceOnly() {
    #expect(network.admits(0x0A4D_0002, arrivedOn: 3))
    #expect(network.admits(0x0A4D_00FE, arrivedOn: nil))
    #expect(!network.admits(0x0A4D_0102, arrivedOn: 3))
    #expect(!network.admits(0xC000_0202, arrivedOn: 3))
    #expect(!network.admits(0x0A4D_0002, arrivedOn: 4), "a request through another interface")
    #expect(!network.admits(0x0A4D_0001, arrivedOn: 3), "the gateway itself")
  }

  @Test func announcesTenTimesWithDoublingGaps() {
    #expect(Announcements.delaysInMilliseconds == [0, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000])
  }
}

/// PCP (RFC 6887) on the same service and mappings as NAT-PMP.
@Suite struct PCPTests {
  static let gateway: UInt32 = 0xC000_0201  // 192.0.2.1
  static let alice: UInt32 = 0x0A4D_0002  // 10.77.0.2
  static let nonce: [UInt8] = Array(1...12)

  let store = RecordingStore()

  func service(_ configure: (inout DaemonConfiguration) -> Void = { _ in }) throws -> NATPMPService {
    var configuration = DaemonConfiguration(externalInterface: "wan0", listenAddresses: [0x0A4D_0001])
    configure(&configuration)
    let service = NATPMPService(configuration: configuration, store: store, generator: SplitMix64(seed: 7))
    _ = try service.setExternalAddress(Self.gateway, now: 0)
    return service
  }

  /// A MAP request: header (version 2, opcode 1, lifetime, client address), then nonce,
  /// protocol, internal port, suggested port and address, then options.
  static func mapRequest(lifetime: UInt32, protocolNumber: UInt8 = 17, internalPort: UInt16 = 5000,
                         suggested: UInt16 = 0, nonce: [UInt8] = nonce, client: UInt32 = alice,
                         options: [UInt8] = [], version: UInt8 = 2) -> [UInt8] {
    var bytes: [UInt8] = [version, 1, 0, 0]
    bytes += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: lifetime >> $0) }
    bytes += [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: client >> $0) }
    bytes += nonce + [protocolNumber, 0, 0, 0, UInt8(internalPort >> 8), UInt8(internalPort & 0xff),
                      UInt8(suggested >> 8), UInt8(suggested & 0xff)] + [UInt8](repeating: 0, count: 16)
    return bytes + options
  }

  struct Answer {
    var bytes: [UInt8]
    var result: UInt8 { bytes[3] }
    var lifetime: UInt32 { UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 8 | UInt32(bytes[7]) }
    var externalPort: UInt16 { UInt16(bytes[42]) << 8 | UInt16(bytes[43]) }
    var externalAddress: [UInt8] { Array(bytes[44..<60]) }
  }

  func ask(_ service: NATPMPService, _ request: [UInt8], from client: UInt32 = alice, now: UInt64 = 0) throws -> Answer {
    Answer(bytes: try #require(service.respond(to: request, from: client, now: now).bytes))
  }

  @Test func mapsForTheRequestedLifetimeWithinBounds() throws {
    let service = try service()
    let answer = try ask(service, Self.mapRequest(lifetime: 3600))
    #expect(answer.bytes.count == 60 && answer.bytes[0] == 2 && answer.bytes[1] == 0x81 && answer.result == 0)
    #expect(answer.lifetime == 3600 && DaemonConfiguration.defaultExternalPorts.contains(answer.externalPort))
    #expect(answer.externalAddress == [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 192, 0, 2, 1])
    #expect(Array(answer.bytes[24..<36]) == Self.nonce, "the nonce comes back")
    #expect(try ask(service, Self.mapRequest(lifetime: 10)).lifetime == 120, "at least two minutes")
    #expect(try ask(service, Self.mapRequest(lifetime: 999_999)).lifetime == 86_400, "at most a day")
  }

  @Test func aRenewalKeepsThePortAndAnotherNonceIsRefused() throws {
    let service = try service()
    let first = try ask(service, Self.mapRequest(lifetime: 600))
    let renewal = try ask(service, Self.mapRequest(lifetime: 600), now: 10_000)
    #expect(renewal.result == 0 && renewal.externalPort == first.externalPort)
    let stranger = try ask(service, Self.mapRequest(lifetime: 600, nonce: [UInt8](repeating: 9, count: 12)))
    #expect(stranger.result == 2 && stranger.lifetime == 1800, "NOT_AUTHORIZED, a long error")
    #expect(try ask(service, Self.mapRequest(lifetime: 0, nonce: [UInt8](repeating: 9, count: 12))).result == 2)
    let deleted = try ask(service, Self.mapRequest(lifetime: 0))
    #expect(deleted.result == 0 && deleted.lifetime == 0 && service.table.count == 0)
  }

  @Test func grantsTheSuggestedPortAndWithPreferFailureNothingElse() throws {
    let service = try service { $0.externalPorts = 40000...40099 }
    #expect(try ask(service, Self.mapRequest(lifetime: 600, suggested: 40042)).externalPort == 40042)
    let preferFailure: [UInt8] = [2, 0, 0, 0]
    let taken = try ask(service, Self.mapRequest(lifetime: 600, internalPort: 5001, suggested: 40042, options: preferFailure))
    #expect(taken.result == 11 && taken.lifetime == 30, "CANNOT_PROVIDE_EXTERNAL, a short error")
    let free = try ask(service, Self.mapRequest(lifetime: 600, internalPort: 5001, suggested: 40043, options: preferFailure))
    #expect(free.result == 0 && free.externalPort == 40043)
  }

  @Test func refusesWhatItMustAndIgnoresWhatItMay() throws {
    let service = try service()
    #expect(try ask(service, Self.mapRequest(lifetime: 60, protocolNumber: 0)).result == 9, "UNSUPP_PROTOCOL")
    #expect(try ask(service, Self.mapRequest(lifetime: 60, protocolNumber: 132)).result == 9)
    #expect(try ask(service, Self.mapRequest(lifetime: 60, internalPort: 0)).result == 3, "MALFORMED_REQUEST")
    #expect(try ask(service, Self.mapRequest(lifetime: 60, options: Self.thirdParty(0x0A4D_0009))).result == 2,
            "THIRD_PARTY refused")
    #expect(try ask(service, Self.mapRequest(lifetime: 60, options: [99, 0, 0, 0])).result == 5, "UNSUPP_OPTION")
    #expect(try ask(service, Self.mapRequest(lifetime: 60, options: [2, 0, 0, 4, 0, 0, 0, 0])).result == 6, "MALFORMED_OPTION")
    #expect(try ask(service, Self.mapRequest(lifetime: 60, options: [200, 0, 0, 0])).result == 0, "optional: ignored")
    #expect(try ask(service, Self.mapRequest(lifetime: 60, client: 0x0A4D_0009)).result == 12, "ADDRESS_MISMATCH")
    #expect(try ask(service, Self.mapRequest(lifetime: 60) + [0, 0]).result == 3, "not in 4-byte units")
    let version1 = try ask(service, Self.mapRequest(lifetime: 60, version: 1))
    #expect(version1.result == 1 && version1.bytes[0] == 2, "UNSUPP_VERSION names version 2")
    var unknownOpcode = Self.mapRequest(lifetime: 60)
    unknownOpcode[1] = 5
    #expect(try ask(service, unknownOpcode).result == 4, "UNSUPP_OPCODE")
    var response = Self.mapRequest(lifetime: 60)
    response[1] |= 0x80
    #expect(service.respond(to: response, from: Self.alice, now: 0).bytes == nil, "a response is dropped")
  }

  /// A FILTER option (§13.3): prefix length over the IPv4-mapped address, port 0 for any.
  static func filter(_ address: UInt32, prefixLength: UInt8, port: UInt16 = 0) -> [UInt8] {
    [3, 0, 0, 20, 0, prefixLength, UInt8(port >> 8), UInt8(port & 0xff)] + mapped(address)
  }

  static func thirdParty(_ address: UInt32) -> [UInt8] { [1, 0, 0, 16] + mapped(address) }

  static func mapped(_ address: UInt32) -> [UInt8] {
    [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: address >> $0) }
  }

  /// Filters go into the mapping (and its kernel elements) and come back in the answer; a
  /// renewal without FILTER keeps them, and a filter of prefix length 0 lifts them.
  @Test func filtersAreInstalledKeptAndLifted() throws {
    let service = try service()
    let options = Self.filter(0xC633_6400, prefixLength: 120) + Self.filter(0xCB00_7107, prefixLength: 128, port: 4000)
    let answer = try ask(service, Self.mapRequest(lifetime: 600, options: options))
    #expect(answer.result == 0 && Array(answer.bytes[60...]) == options, "the processed options come back")
    let expected = [PeerFilter(network: 0xC633_6400, prefixLength: 24, port: nil),
                    PeerFilter(network: 0xCB00_7107, prefixLength: 32, port: 4000)]
    #expect(store.installed.last?.first?.filters == expected)
    let mapping = try #require(service.table.mappings.values.first)
    #expect(mapping.admits(peer: 0xC633_6477, port: 1) && mapping.admits(peer: 0xCB00_7107, port: 4000))
    #expect(!mapping.admits(peer: 0xCB00_7107, port: 4001) && !mapping.admits(peer: 0xC633_6500, port: 1))

    #expect(try ask(service, Self.mapRequest(lifetime: 600), now: 1000).result == 0)
    #expect(store.installed.last?.first?.filters == expected, "a renewal without FILTER keeps them")
    #expect(try ask(service, Self.mapRequest(lifetime: 600, options: Self.filter(0, prefixLength: 0)), now: 2000).result == 0)
    #expect(store.installed.last?.first?.filters == [], "prefix length 0 lifts them")
  }

  @Test func malformedOrTooManyFiltersAreRefused() throws {
    let service = try service()
    func result(_ options: [UInt8]) throws -> UInt8 { try ask(service, Self.mapRequest(lifetime: 600, options: options)).result }
    #expect(try result([3, 0, 0, 16] + [UInt8](repeating: 0, count: 16)) == 6, "MALFORMED_OPTION: short")
    #expect(try result(Self.filter(0xC633_6400, prefixLength: 24)) == 6, "an IPv4 prefix counts the mapped 96 bits")
    #expect(try result(Self.filter(0xC633_6400, prefixLength: 129)) == 6)
    var ipv6 = Self.filter(0, prefixLength: 128)
    ipv6[8] = 0x20
    #expect(try result(ipv6) == 6, "an IPv6 peer cannot reach an IPv4 mapping")
    let many = (0..<17).flatMap { Self.filter(0xC633_6400 + UInt32($0), prefixLength: 128) }
    #expect(try result(many) == 13, "EXCESSIVE_REMOTE_PEERS")
    #expect(service.table.count == 0)
  }

  /// THIRD_PARTY: refused unless both hosts are in a network the configuration opens to it.
  @Test func thirdPartyOnlyWithinAnAllowedNetwork() throws {
    #expect(try ask(try service(), Self.mapRequest(lifetime: 600, options: Self.thirdParty(0x0A4D_0009))).result == 2)
    let service = try service { $0.thirdPartyNetworks = [AddressPrefix(.ipv4(0x0A4D_0000), length: 24)] }
    let granted = try ask(service, Self.mapRequest(lifetime: 600, options: Self.thirdParty(0x0A4D_0009)))
    #expect(granted.result == 0 && Array(granted.bytes[60...]) == Self.thirdParty(0x0A4D_0009))
    #expect(service.table.mappings.values.map(\.client) == [0x0A4D_0009], "the mapping is the third party's")
    #expect(try ask(service, Self.mapRequest(lifetime: 600, options: Self.thirdParty(0x0A4E_0009))).result == 2,
            "NOT_AUTHORIZED outside the network")
    #expect(try ask(service, Self.mapRequest(lifetime: 600, options: Self.thirdParty(0))).result == 6)
    let twice = Self.thirdParty(0x0A4D_0009) + Self.thirdParty(0x0A4D_0008)
    #expect(try ask(service, Self.mapRequest(lifetime: 600, options: twice)).result == 6, "one THIRD_PARTY at most")
  }

  /// PCP's lifetimes are clamped to the configured range; NAT-PMP's only capped, as RFC 6886
  /// lets the server shorten a lifetime but not lengthen it.
  @Test func lifetimesFollowTheConfiguration() throws {
    let service = try service { $0.lifetimes = 300...3600 }
    #expect(try ask(service, Self.mapRequest(lifetime: 10)).lifetime == 300)
    #expect(try ask(service, Self.mapRequest(lifetime: 99_999, internalPort: 5001)).lifetime == 3600)
    let natpmp = Client(service: service, address: Self.alice)
    #expect(natpmp.map(.tcp, 6000, lifetime: 10).lifetime == 10)
    #expect(natpmp.map(.tcp, 6001, lifetime: 99_999).lifetime == 3600)
  }

  /// A client the permission rules deny every port is NOT_AUTHORIZED, not out of resources.
  @Test func permissionRulesApplyToPCP() throws {
    let service = try service {
      $0.permissions = [PermissionRule(allows: false, externalPorts: 0...65535, network: AddressPrefix(.ipv4(Self.alice), length: 32),
                                       internalPorts: 5000...5000)]
    }
    #expect(try ask(service, Self.mapRequest(lifetime: 600)).result == 2)
    #expect(try ask(service, Self.mapRequest(lifetime: 600, internalPort: 5001)).result == 0)
  }

  /// The errors of resources and network, each with RFC 6887's short lifetime: the client's
  /// quota (USER_EX_QUOTA), a used-up port range (NO_RESOURCES), no external address and a
  /// kernel that refuses (NETWORK_FAILURE).
  @Test func runsOutOfQuotaPortsAndNetworkWithShortErrors() throws {
    let service = try service {
      $0.mappingsPerClient = 1
      $0.externalPorts = 40000...40000
    }
    #expect(try ask(service, Self.mapRequest(lifetime: 600)).result == 0)
    let quota = try ask(service, Self.mapRequest(lifetime: 600, internalPort: 5001))
    #expect(quota.result == 10 && quota.lifetime == 30, "USER_EX_QUOTA")
    let bob = try ask(service, Self.mapRequest(lifetime: 600, client: 0x0A4D_0003), from: 0x0A4D_0003)
    #expect(bob.result == 8 && bob.lifetime == 30, "NO_RESOURCES")
    store.failing = true
    #expect(try ask(service, Self.mapRequest(lifetime: 600), now: 1000).result == 7, "a refused renewal: NETWORK_FAILURE")
    store.failing = false
    _ = try service.setExternalAddress(nil, now: 2000)
    let unaddressed = try ask(service, Self.mapRequest(lifetime: 600, client: 0x0A4D_0003), from: 0x0A4D_0003)
    #expect(unaddressed.result == 7 && unaddressed.lifetime == 30)
  }

  @Test func answersAnnounceWithTheEpoch() throws {
    let service = try service()
    var announce = Array(Self.mapRequest(lifetime: 0).prefix(24))
    announce[1] = 0
    let answer = try ask(service, announce, now: 42_000)
    #expect(answer.bytes.count == 24 && answer.bytes[1] == 0x80 && answer.result == 0)
    #expect(Array(answer.bytes[8..<12]) == [0, 0, 0, 42])
  }

  /// One table: a NAT-PMP mapping is PCP's to renew (and adopt a nonce), and the reverse.
  @Test func natPMPAndPCPShareTheirMappings() throws {
    let service = try service()
    let natpmp = Client(service: service, address: Self.alice).map(.udp, 5000, lifetime: 600)
    let pcp = try ask(service, Self.mapRequest(lifetime: 600))
    #expect(pcp.result == 0 && pcp.externalPort == natpmp.externalPort && service.table.count == 1)
    #expect(Client(service: service, address: Self.alice).map(.udp, 5000, lifetime: 600).externalPort == natpmp.externalPort)
  }

  /// A mapping that a reload ended takes its nonce with it: the next mapping of that client
  /// port, made by NAT-PMP, is any PCP client's to adopt.
  @Test func aMappingEndedByAReloadLeavesNoOwner() throws {
    let service = try service()
    #expect(try ask(service, Self.mapRequest(lifetime: 600)).result == 0)
    var narrower = service.configuration
    narrower.internalPorts = 6000...6999
    #expect(service.reconfigure(narrower, now: 0).count == 1)
    var wider = narrower
    wider.internalPorts = 1...65535
    service.reconfigure(wider, now: 0)
    _ = Client(service: service, address: Self.alice).map(.udp, 5000, lifetime: 600)
    let adopted = try ask(service, Self.mapRequest(lifetime: 600, nonce: [UInt8](repeating: 9, count: 12)))
    #expect(adopted.result == 0)
  }

  @Test func canBeTurnedOff() throws {
    let service = try service { $0.pcp = false }
    let reply = try #require(service.respond(to: Self.mapRequest(lifetime: 60), from: Self.alice, now: 0).bytes)
    #expect(reply == [0, 128, 0, 1, 0, 0, 0, 0], "NAT-PMP's unsupported version, as before PCP")
  }
}
