import NATPMP
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
    return ScriptEmitter.script(replacing: table)
  }

  @Test func translatesThroughOneTimedMapJustAfterIpnatsChain() throws {
    let script = script(externalAddress: 0xC000_0201)
    #expect(script.contains("type inet_proto . inet_service : ipv4_addr . inet_service\n"))
    #expect(script.contains("flags timeout\n"))
    #expect(script.contains("elements = { udp . 50000 : 10.77.0.2 . 5000 }"))
    #expect(script.contains("type nat hook prerouting priority dstnat + 1; policy accept;"))
    #expect(script.contains("ip daddr 192.0.2.1 meta l4proto { tcp, udp } counter dnat ip to meta l4proto . th dport map @mappings"))
  }

  /// The mapping's other half: what the client sends from its port leaves from the external
  /// port (RFC 6886 §3.9), ahead of ipnat's masquerade.
  @Test func givesOutboundTrafficTheExternalPortJustBeforeIpnatsChain() throws {
    let script = script(externalAddress: 0xC000_0201)
    #expect(script.contains("type ipv4_addr . inet_proto . inet_service : inet_service\n"))
    #expect(script.contains("elements = { 10.77.0.2 . udp . 5000 : 50000 }"))
    #expect(script.contains("type nat hook postrouting priority srcnat - 1; policy accept;"))
    #expect(script.contains("oifname \"wan0\" meta nfproto ipv4 meta l4proto { tcp, udp } counter snat ip to 192.0.2.1:ip saddr . meta l4proto . th sport map @outbound"))
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
