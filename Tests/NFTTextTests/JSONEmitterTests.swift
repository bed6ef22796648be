import TestSupport
import NFTModel
import NFTText
import Testing

@Suite struct JSONEmitterTests {
  @Test func replacesTheTableInOneDocument() {
    let document = JSONEmitter.document(replacing: layout)
    let lines = document.split(separator: "\n")
    #expect(lines[0] == "{\"nftables\": [")
    #expect(lines[1] == "  {\"add\": {\"table\": {\"family\": \"inet\", \"name\": \"ipnat\"}}},")
    #expect(lines[2] == "  {\"delete\": {\"table\": {\"family\": \"inet\", \"name\": \"ipnat\"}}},")
    #expect(document.contains(#"{"add": {"rule": {"family": "inet", "table": "ipnat", "chain": "rdr_rwan", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "daddr"}}, "right": "2001:db8:ff::1"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 80}}, {"counter": {"packets": 0, "bytes": 0}}, {"dnat": {"family": "ip6", "addr": "fd00:10::5", "port": 8080}}]}}}"#))
  }

  /// The layout without the maps nft 1.0.6 cannot read from JSON (see ``JSONEmitter``), and
  /// without the rules that use them.
  static let jsonLayout: Table = {
    var table = layout
    let unreadable = Set(table.maps.filter(\.hasConcatenatedData).map(\.name))
    table.maps.removeAll { unreadable.contains($0.name) }
    for index in table.chains.indices {
      table.chains[index].rules.removeAll { rule in
        rule.statements.contains { statement in
          guard case .nat(let nat) = statement, case .lookup(_, .named(let name)) = nat.address else { return false }
          return unreadable.contains(name)
        }
      }
    }
    return table
  }()

  @Test func theJSONLayoutStillCoversEveryOtherShape() {
    #expect(Self.jsonLayout.maps.isEmpty)
    #expect(Self.jsonLayout.chains.map(\.rules.count).reduce(0, +) == 13)
  }

  @Test(.enabled(if: NFTCheck.isAvailable, "needs nft and root: runs in a throwaway network namespace"))
  func theKernelAcceptsIt() throws {
    #expect(try NFTCheck.checkJSON(JSONEmitter.document(replacing: Self.jsonLayout)) == nil)
  }
}
