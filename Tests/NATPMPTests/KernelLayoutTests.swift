import NATPMP
import NFTModel
import NFTText
import TestSupport
import Testing

/// The daemon's table as an nft script: as documented, and accepted by nft.
@Suite struct KernelLayoutTests {
  static let mapping = Mapping(transport: .udp, client: 0x0A4D_0002, internalPort: 5000, externalPort: 50000, expiry: 0)

  func script(externalAddress: UInt32?) -> String {
    var table = KernelLayout.table(externalAddress: externalAddress)
    table.maps[0].elements = [KernelLayout.element(Self.mapping)]
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

  @Test func withoutAnAddressTheChainIsEmpty() {
    #expect(!script(externalAddress: nil).contains("dnat"))
  }

  @Test(.enabled(if: NFTCheck.isAvailable, "needs nft and unshare"))
  func nftAcceptsIt() throws {
    for address: UInt32? in [0xC000_0201, nil] {
      let error = try NFTCheck.check(script(externalAddress: address))
      #expect(error == nil, "\(error ?? "")")
    }
  }
}
