import IPAddressing
import NFTModel

/// The daemon's own nftables table, apart from ipnat's: two maps whose elements expire by
/// themselves, and a rule on each side that translates through one of them.
///
/// ```
/// table inet ipnat_natpmpd {
///   map mappings {
///     type inet_proto . inet_service : ipv4_addr . inet_service
///     flags timeout
///   }
///   map outbound {
///     type ipv4_addr . inet_proto . inet_service : inet_service
///     flags timeout
///   }
///   chain prerouting {
///     type nat hook prerouting priority dstnat + 1; policy accept;
///     ip daddr 192.0.2.1 meta l4proto { tcp, udp } counter dnat ip to meta l4proto . th dport map @mappings
///   }
///   chain postrouting {
///     type nat hook postrouting priority srcnat - 1; policy accept;
///     oifname "wan0" meta nfproto ipv4 meta l4proto { tcp, udp } counter snat ip to 192.0.2.1 : ip saddr . meta l4proto . th sport map @outbound
///   }
/// }
/// ```
///
/// A mapping works both ways (RFC 6886 §3.9): `mappings` sends the external port to the client,
/// and `outbound` gives connections from the client's port the external port, so that what the
/// client sends leaves from its public port. Both elements of a mapping change in one
/// transaction.
///
/// The prerouting chain runs just after ipnat's (priority dstnat): a connection that a static
/// rdr rule already translated is not translated again, so static rules win, as with a pf anchor
/// placed after them. The postrouting chain runs just before ipnat's (srcnat): the mapping's
/// port wins over a masquerade rule, which would pick another. Lookups cost the same whatever
/// the number of mappings.
public enum KernelLayout {
  public static let tableName = "ipnat_natpmpd"
  public static let mapName = "mappings"
  public static let outboundMapName = "outbound"
  public static let chainName = "prerouting"
  public static let outboundChainName = "postrouting"

  public static let map = NamedMap(name: mapName, key: [.transportProtocol, .service],
                                   data: [.ipv4Address, .service], timeout: true, elements: [])
  public static let outboundMap = NamedMap(name: outboundMapName, key: [.ipv4Address, .transportProtocol, .service],
                                           data: [.service], timeout: true, elements: [])

  /// The table for an external address; without one, the chains translate nothing.
  public static func table(externalAddress: UInt32?, externalInterface: String) -> Table {
    let inbound = Chain(name: chainName, base: BaseChain(kind: .nat, hook: .prerouting, priority: .named(.dstnat, offset: 1)),
                        rules: externalAddress.map { [inboundRule(for: $0)] } ?? [])
    let outbound = Chain(name: outboundChainName,
                         base: BaseChain(kind: .nat, hook: .postrouting, priority: .named(.srcnat, offset: -1)),
                         rules: externalAddress.map { [outboundRule(for: $0, leaving: externalInterface)] } ?? [])
    return Table(family: .inet, name: tableName, maps: [map, outboundMap], chains: [inbound, outbound])
  }

  private static let transports = Match(.meta(.l4proto), .set([.symbol("tcp"), .symbol("udp")]))

  private static func inboundRule(for externalAddress: UInt32) -> Rule {
    let key = Expression.concatenation([.selector(.meta(.l4proto)), .selector(.payload(PayloadField(.th, .dport)))])
    let translation = NATStatement(.dnat, family: .ip, address: .lookup(key: key, map: .named(mapName)))
    return Rule(matches: [Match(.payload(PayloadField(.ip, .daddr)), .address(.ipv4(externalAddress))), transports],
                statements: [.nat(translation)])
  }

  private static func outboundRule(for externalAddress: UInt32, leaving interface: String) -> Rule {
    let key = Expression.concatenation([.selector(.payload(PayloadField(.ip, .saddr))), .selector(.meta(.l4proto)),
                                        .selector(.payload(PayloadField(.th, .sport)))])
    let translation = NATStatement(.snat, family: .ip, address: .address(.ipv4(externalAddress)),
                                   port: .lookup(key: key, map: .named(outboundMapName)))
    return Rule(matches: [Match(.meta(.oifname), .string(interface)), Match(.meta(.nfproto), .symbol("ipv4")), transports],
                statements: [.nat(translation)])
  }

  /// A mapping's element in `mappings`: external port to client.
  public static func element(_ mapping: Mapping) -> MapElement {
    MapElement(.concatenation([protocolSymbol(mapping), .integer(UInt64(mapping.externalPort))]),
               .concatenation([.address(.ipv4(mapping.client)), .integer(UInt64(mapping.internalPort))]))
  }

  /// A mapping's element in `outbound`: client port to external port.
  public static func outboundElement(_ mapping: Mapping) -> MapElement {
    MapElement(.concatenation([.address(.ipv4(mapping.client)), protocolSymbol(mapping), .integer(UInt64(mapping.internalPort))]),
               .integer(UInt64(mapping.externalPort)))
  }

  /// A mapping read back from its element in `mappings`: the key is the protocol and the
  /// external port, the data the client's address and port, each part in a 32-bit register
  /// (ports in network byte order). Nil for bytes of another shape.
  public static func mapping(key: [UInt8], data: [UInt8], expiry: UInt64) -> Mapping? {
    guard key.count == 8, data.count == 8, let transport = MappedProtocol.allCases.first(where: { $0.protocolNumber == key[0] })
    else { return nil }
    func u16(_ bytes: [UInt8], _ offset: Int) -> UInt16 { UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }
    let client = data[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    return Mapping(transport: transport, client: client, internalPort: u16(data, 4), externalPort: u16(key, 4),
                   expiry: expiry)
  }

  private static func protocolSymbol(_ mapping: Mapping) -> Expression { .symbol(mapping.transport == .udp ? "udp" : "tcp") }
}
