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
    for line in ["type inet_proto . inet_service : ipv4_addr . inet_service\n", "flags timeout\n",
                 "elements = { udp . 50000 : 10.77.0.2 . 5000 }", "type nat hook prerouting priority dstnat + 1; policy accept;",
                 "ip daddr 192.0.2.1 meta l4proto { tcp, udp } counter dnat ip to meta l4proto . th dport map @mappings"] {
      #expect(script.contains(line))
    }
  }

  /// The mapping's other half: what the client sends from its port leaves from the external
  /// port (RFC 6886 §3.9), ahead of ipnat's masquerade.
  @Test func givesOutboundTrafficTheExternalPortJustBeforeIpnatsChain() throws {
    let script = script(externalAddress: 0xC000_0201)
    for line in ["type ipv4_addr . inet_proto . inet_service : inet_service\n", "elements = { 10.77.0.2 . udp . 5000 : 50000 }",
                 "type nat hook postrouting priority srcnat - 1; policy accept;",
                 "oifname \"wan0\" meta nfproto ipv4 meta l4proto { tcp, udp } counter snat ip to 192.0.2.1:ip saddr . meta l4proto . th sport map @outbound"] {
      #expect(script.contains(line))
    }
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
