import CNftables
@testable import IPNatNetlink
import Testing

/// An update keeps what it does not touch, so the image of a loaded table must refuse what
/// ipnat never writes, or an update would keep it where a full load removes it. The kernel
/// tests (`LoaderTests/IncrementalLoadTests`) cover a dormant table and a chain policy set by
/// nft; nft 1.0.6 cannot give an existing chain a comment, so that refusal is checked here, on
/// a table as libnftnl hands it over from a dump.
@Suite struct DumpedImageTests {
  static func dumpedTable(chainComment: String?) -> DumpedObjects {
    let dumped = DumpedObjects()
    let table = nftnl_table_alloc()
    nftnl_table_set_str(table, UInt16(NFTNL_TABLE_NAME.rawValue), "ipnat")
    dumped.table = table
    guard let chain = nftnl_chain_alloc() else { return dumped }
    nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TABLE.rawValue), "ipnat")
    nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_NAME.rawValue), "srcnat")
    if let chainComment {
      var bytes = Array(chainComment.utf8)
      nftnl_chain_set_data(chain, UInt16(NFTNL_CHAIN_USERDATA.rawValue), &bytes, UInt32(bytes.count))
    }
    dumped.chains.append(chain)
    return dumped
  }

  @Test func aChainWithACommentMakesNoImage() {
    let plain = KernelRuleset.image(of: Self.dumpedTable(chainComment: nil))
    let commented = KernelRuleset.image(of: Self.dumpedTable(chainComment: "set by another tool"))
    #expect(plain?.chains.map(\.name) == ["srcnat"])
    #expect(commented == nil)
  }
}
