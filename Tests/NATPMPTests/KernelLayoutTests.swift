import NATPMP
import NFTKernel
import NFTModel
import NFTText
import TestSupport
import Testing

/// The daemon's table as an nft script: as documented, and accepted by nft.
@Suite struct KernelLayoutTests {
  static let mapping = Mapping(transport: .udp, client: 0x0A4D_0002, internalPort: 5000, externalPort: 50000, expiry: 0)

  func script(externalAddress: UInt32?) -> String {
    var table = KernelLayout.table(externalAddress: externalAddress, externalInterface: "wan0")
    table.maps[0].elements = [KernelLayout.element(Self.mapping)]
    table.maps[1].elements = [KernelLayout.outboundElement(Self.mapping)]
    table.maps[2].elements = KernelLayout.inboundElements(Self.filtered).elements
    return ScriptEmitter.script(replacing: table)
  }

  /// A PCP mapping open to one network's peers and to one peer's port.
  static let filtered = Mapping(transport: .tcp, client: 0x0A4D_0002, internalPort: 22, externalPort: 50022, expiry: 0,
                                filters: [PeerFilter(network: 0xC633_6400, prefixLength: 24, port: nil),
                                          PeerFilter(network: 0xCB00_7107, prefixLength: 32, port: 4000)])

  /// Filtered mappings come first, keyed by peer too: a peer no filter admits finds no element
  /// there, and the filtered mapping has none in `mappings`.
  @Test func filteredMappingsTranslateOnlyTheirPeers() throws {
    let script = script(externalAddress: 0xC000_0201)
    for line in ["type inet_proto . inet_service . ipv4_addr . inet_service : ipv4_addr . inet_service\n",
                 "flags interval,timeout\n",
                 "elements = { tcp . 50022 . 198.51.100.0/24 . 0-65535 : 10.77.0.2 . 22,", "tcp . 50022 . 203.0.113.7 . 4000 : 10.77.0.2 . 22 }",
                 "ip daddr 192.0.2.1 meta l4proto { tcp, udp } meta l4proto . th dport . ip saddr . th sport @filtered counter dnat ip to meta l4proto . th dport . ip saddr . th sport map @filtered\n\t\tip daddr 192.0.2.1"] {
      #expect(script.contains(line), "\(line)")
    }
    #expect(KernelLayout.inboundElements(Self.mapping).map.name == KernelLayout.mapName)
    #expect(KernelLayout.inboundElements(Self.filtered).map.name == KernelLayout.filteredMapName)
  }

  @Test func translatesThroughOneTimedMapJustAfterIpnatsChain() throws {
    let script = script(externalAddress: 0xC000_0201)
    for line in ["type inet_proto . inet_service : ipv4_addr . inet_service\n", "flags timeout\n",
                 "elements = { udp . 50000 : 10.77.0.2 . 5000 }", "type nat hook prerouting priority dstnat + 1; policy accept;",
                 "ip daddr 192.0.2.1 meta l4proto { tcp, udp } meta l4proto . th dport @mappings counter dnat ip to meta l4proto . th dport map @mappings"] {
      #expect(script.contains(line))
    }
  }

  /// The mapping's other half: what the client sends from its port leaves from the external
  /// port (RFC 6886 §3.9), ahead of ipnat's masquerade.
  @Test func givesOutboundTrafficTheExternalPortJustBeforeIpnatsChain() throws {
    let script = script(externalAddress: 0xC000_0201)
    for line in ["type ipv4_addr . inet_proto . inet_service : inet_service\n", "elements = { 10.77.0.2 . udp . 5000 : 50000 }",
                 "type nat hook postrouting priority srcnat - 1; policy accept;",
                 "oifname \"wan0\" meta nfproto ipv4 meta l4proto { tcp, udp } ip saddr . meta l4proto . th sport @outbound counter snat ip to 192.0.2.1:ip saddr . meta l4proto . th sport map @outbound"] {
      #expect(script.contains(line))
    }
  }

  /// What a restarted daemon reads back from `filtered` is the mapping with each filter: the
  /// elements as the linearizer encodes them for the kernel, decoded one by one.
  @Test func filteredElementsReadBackAsTheirFilters() throws {
    let elements = try KernelLayout.inboundElements(Self.filtered).elements.map {
      try Linearizer.element($0, of: KernelLayout.filteredMap)
    }
    let decoded = elements.compactMap {
      KernelLayout.filteredMapping(key: $0.key, keyEnd: try! #require($0.keyEnd), data: try! #require($0.data), expiry: 0)
    }
    #expect(decoded.count == 2 && decoded.allSatisfy { $0.key == Self.filtered.key && $0.externalPort == 50022 })
    #expect(decoded.flatMap(\.filters).sorted() == Self.filtered.filters)
    var ragged = elements[0]
    ragged.keyEnd![11] = 0x7e
    #expect(KernelLayout.filteredMapping(key: ragged.key, keyEnd: ragged.keyEnd!, data: ragged.data!, expiry: 0) == nil,
            "198.51.100.0-198.51.100.126 is no network")
  }

  @Test func withoutAnAddressTheChainIsEmpty() {
    #expect(!script(externalAddress: nil).contains("dnat") && !script(externalAddress: nil).contains("snat"))
  }

  @Test(.enabled(if: NFTCheck.isAvailable, "needs nft and unshare"))
  func nftAcceptsIt() throws {
    for address: UInt32? in [0xC000_0201, nil] {
      let error = try NFTCheck.check(script(externalAddress: address))
      #expect(error == nil, "\(error ?? "")")
    }
  }
}
