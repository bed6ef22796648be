import IPAddressing
import NFTModel

/// The daemon's own nftables table, apart from ipnat's: three maps whose elements expire by
/// themselves, and rules that translate through them.
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
///   map filtered {
///     type inet_proto . inet_service . ipv4_addr . inet_service : ipv4_addr . inet_service
///     flags interval, timeout
///   }
///   chain prerouting {
///     type nat hook prerouting priority dstnat + 1; policy accept;
///     ip daddr 192.0.2.1 meta l4proto { tcp, udp } meta l4proto . th dport . ip saddr . th sport @filtered counter dnat ip to meta l4proto . th dport . ip saddr . th sport map @filtered
///     ip daddr 192.0.2.1 meta l4proto { tcp, udp } meta l4proto . th dport @mappings counter dnat ip to meta l4proto . th dport map @mappings
///   }
///   chain postrouting {
///     type nat hook postrouting priority srcnat - 1; policy accept;
///     oifname "wan0" meta nfproto ipv4 meta l4proto { tcp, udp } ip saddr . meta l4proto . th sport @outbound counter snat ip to 192.0.2.1 : ip saddr . meta l4proto . th sport map @outbound
///   }
/// }
/// ```
///
/// A mapping works both ways (RFC 6886 §3.9): `mappings` sends the external port to the client,
/// and `outbound` gives connections from the client's port the external port, so that what the
/// client sends leaves from its public port. Both elements of a mapping change in one
/// transaction.
///
/// A mapping with PCP filters (RFC 6887 §13.3) is in `filtered` instead of `mappings`, one
/// element per allowed peer network and port: a connection from another peer finds no
/// translation and never reaches the client.
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
  public static let filteredMapName = "filtered"

  public static let map = NamedMap(name: mapName, key: [.transportProtocol, .service],
                                   data: [.ipv4Address, .service], timeout: true, elements: [])
  public static let outboundMap = NamedMap(name: outboundMapName, key: [.ipv4Address, .transportProtocol, .service],
                                           data: [.service], timeout: true, elements: [])
  public static let filteredMap = NamedMap(name: filteredMapName,
                                           key: [.transportProtocol, .service, .ipv4Address, .service],
                                           data: [.ipv4Address, .service], intervalKey: true, timeout: true, elements: [])

  /// The table for an external address; without one, the chains translate nothing.
  public static func table(externalAddress: UInt32?, externalInterface: String) -> Table {
    let inbound = Chain(name: chainName, base: BaseChain(kind: .nat, hook: .prerouting, priority: .named(.dstnat, offset: 1)),
                        rules: externalAddress.map { [filteredRule(for: $0), inboundRule(for: $0)] } ?? [])
    let outbound = Chain(name: outboundChainName,
                         base: BaseChain(kind: .nat, hook: .postrouting, priority: .named(.srcnat, offset: -1)),
                         rules: externalAddress.map { [outboundRule(for: $0, leaving: externalInterface)] } ?? [])
    return Table(family: .inet, name: tableName, maps: [map, outboundMap, filteredMap], chains: [inbound, outbound])
  }

  private static let transports = Match(.meta(.l4proto), .set([.symbol("tcp"), .symbol("udp")]))

  private static func inboundRule(for externalAddress: UInt32) -> Rule {
    translation(to: externalAddress, key: [.meta(.l4proto), .payload(PayloadField(.th, .dport))], map: mapName)
  }

  /// The filtered mappings' rule: a peer that no filter admits finds no element, and the next
  /// rule has none for the port either.
  private static func filteredRule(for externalAddress: UInt32) -> Rule {
    translation(to: externalAddress, key: [.meta(.l4proto), .payload(PayloadField(.th, .dport)),
                                           .payload(PayloadField(.ip, .saddr)), .payload(PayloadField(.th, .sport))],
                map: filteredMapName)
  }

  /// Each rule asks its map for the key before its counter, which would otherwise count every
  /// connection that reaches the rule, mapped or not.
  private static func translation(to externalAddress: UInt32, key: [Selector], map: String) -> Rule {
    let key = Expression.concatenation(key.map { .selector($0) })
    return Rule(matches: [Match(.payload(PayloadField(.ip, .daddr)), .address(.ipv4(externalAddress))), transports,
                          Match(key, .keys(ofMap: map))],
                statements: [.nat(NATStatement(.dnat, family: .ip, address: .lookup(key: key, map: .named(map))))])
  }

  private static func outboundRule(for externalAddress: UInt32, leaving interface: String) -> Rule {
    let key = Expression.concatenation([.selector(.payload(PayloadField(.ip, .saddr))), .selector(.meta(.l4proto)),
                                        .selector(.payload(PayloadField(.th, .sport)))])
    let translation = NATStatement(.snat, family: .ip, address: .address(.ipv4(externalAddress)),
                                   port: .lookup(key: key, map: .named(outboundMapName)))
    return Rule(matches: [Match(.meta(.oifname), .string(interface)), Match(.meta(.nfproto), .symbol("ipv4")), transports,
                          Match(key, .keys(ofMap: outboundMapName))],
                statements: [.nat(translation)])
  }

  /// A mapping's element in `mappings`: external port to client.
  public static func element(_ mapping: Mapping) -> MapElement {
    MapElement(.concatenation([protocolSymbol(mapping), .integer(UInt64(mapping.externalPort))]), client(mapping))
  }

  /// Where a mapping's inbound elements go: its one element in `mappings`, or with filters one
  /// per filter in `filtered`, keyed by the peer networks and ports it admits.
  public static func inboundElements(_ mapping: Mapping) -> (map: NamedMap, elements: [MapElement]) {
    guard !mapping.filters.isEmpty else { return (map, [element(mapping)]) }
    return (filteredMap, mapping.filters.map { filter in
      let peer: Expression = filter.prefixLength == 32 ? .address(.ipv4(filter.network))
        : .prefix(.ipv4(filter.network), length: filter.prefixLength)
      let port: Expression = filter.port.map { .integer(UInt64($0)) } ?? .integerRange(0, 65535)
      return MapElement(.concatenation([protocolSymbol(mapping), .integer(UInt64(mapping.externalPort)), peer, port]),
                        client(mapping))
    })
  }

  private static func client(_ mapping: Mapping) -> Expression {
    .concatenation([.address(.ipv4(mapping.client)), .integer(UInt64(mapping.internalPort))])
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

  /// A filtered mapping read back from one element of `filtered`, with that element's one
  /// filter: the key holds protocol, external port, the peer network's first address and port,
  /// the key's end the same with the network's last address and port. Nil for another shape,
  /// or a peer range that no filter makes.
  public static func filteredMapping(key: [UInt8], keyEnd: [UInt8], data: [UInt8], expiry: UInt64) -> Mapping? {
    guard key.count == 16, keyEnd.count == 16, key[0..<8] == keyEnd[0..<8],
      var mapping = mapping(key: Array(key[0..<8]), data: data, expiry: expiry)
    else { return nil }
    let (first, last) = (Wire.u32(key, at: 8), Wire.u32(keyEnd, at: 8))
    let hostBits = first ^ last
    // A network: its host bits all clear in the first address, all set in the last.
    guard first & hostBits == 0, hostBits & (hostBits &+ 1) == 0 else { return nil }
    let ports = (Wire.u16(key, at: 12), Wire.u16(keyEnd, at: 12))
    let port: UInt16?
    switch ports {
    case (0, 65535): port = nil
    case let (low, high) where low == high: port = low
    default: return nil
    }
    mapping.filters = [PeerFilter(network: first, prefixLength: hostBits.leadingZeroBitCount, port: port)]
    return mapping
  }

  /// An element comment as nft writes it: TLV type 0 (`NFTNL_UDATA_SET_ELEM_COMMENT`), the
  /// text and its terminating NUL.
  public static func commentUserdata(_ comment: String) -> [UInt8] {
    let text = Array(comment.utf8.prefix(127)) + [0]
    return [0, UInt8(text.count)] + text
  }

  private static func protocolSymbol(_ mapping: Mapping) -> Expression { .symbol(mapping.transport == .udp ? "udp" : "tcp") }
}
