import IPAddressing
import NFTModel

/// The daemon's own nftables table, apart from ipnat's: one map from protocol and external
/// port to client address and port, whose elements expire by themselves, and one rule that
/// translates through it.
///
/// ```
/// table inet ipnat_natpmpd {
///   map mappings {
///     type inet_proto . inet_service : ipv4_addr . inet_service
///     flags timeout
///   }
///   chain prerouting {
///     type nat hook prerouting priority dstnat + 1; policy accept;
///     ip daddr 192.0.2.1 meta l4proto { tcp, udp } counter dnat ip to meta l4proto . th dport map @mappings
///   }
/// }
/// ```
///
/// The chain runs just after ipnat's (priority dstnat): a connection that a static rdr rule
/// already translated is not translated again, so static rules win, as with a pf anchor placed
/// after them. Lookups cost the same whatever the number of mappings.
public enum KernelLayout {
  public static let tableName = "ipnat_natpmpd"
  public static let mapName = "mappings"
  public static let chainName = "prerouting"

  public static let map = NamedMap(name: mapName, key: [.transportProtocol, .service],
                                   data: [.ipv4Address, .service], timeout: true, elements: [])

  /// The table for an external address; without one, the chain translates nothing.
  public static func table(externalAddress: UInt32?) -> Table {
    let chain = Chain(name: chainName, base: BaseChain(kind: .nat, hook: .prerouting, priority: .named(.dstnat, offset: 1)),
                      rules: externalAddress.map { [rule(for: $0)] } ?? [])
    return Table(family: .inet, name: tableName, maps: [map], chains: [chain])
  }

  private static func rule(for externalAddress: UInt32) -> Rule {
    let key = Expression.concatenation([.selector(.meta(.l4proto)), .selector(.payload(PayloadField(.th, .dport)))])
    let translation = NATStatement(.dnat, family: .ip, address: .lookup(key: key, map: .named(mapName)))
    return Rule(matches: [Match(.payload(PayloadField(.ip, .daddr)), .address(.ipv4(externalAddress))),
                          Match(.meta(.l4proto), .set([.symbol("tcp"), .symbol("udp")]))],
                statements: [.nat(translation)])
  }

  /// A mapping as an element of the map.
  public static func element(_ mapping: Mapping) -> MapElement {
    MapElement(.concatenation([.symbol(mapping.transport == .udp ? "udp" : "tcp"), .integer(UInt64(mapping.externalPort))]),
               .concatenation([.address(.ipv4(mapping.client)), .integer(UInt64(mapping.internalPort))]))
  }
}
