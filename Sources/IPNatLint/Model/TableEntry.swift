import IPAddressing
import IPNatSemantics
import IPNatSyntax

/// IPFilter keeps every rule in one or two hash tables (`ip_nat.c: ipf_nat_siocaddnat`) and
/// searches only one per packet: outbound packets the map table, by source address; inbound
/// packets the rdr table, by destination address. A `bimap` sits in both.
enum LookupTable: Sendable {
  case map, rdr
}

/// What one rule matches in one table, as sets lint can compare exactly. Rules with a
/// lookup table, a non-contiguous mask, or a rewrite/divert (which Linux refuses anyway) have
/// no entry: checks built on entries say nothing about them rather than guess.
///
/// A class, so that the checks' indexes and groups, which hold entries many times over, hold
/// references: as a value an entry is some 270 bytes, and a large file has one per rule.
final class TableEntry: Sendable {
  let table: LookupTable
  let rule: Rule
  /// The rule's position in the file, from 0: the tie-breaker of IPFilter's search.
  let index: Int
  /// The interface the table tests (the outbound one for map, the inbound one for rdr); `nil`
  /// for `*` and `-`.
  let interface: String?
  let family: IPFamily
  let protocols: ProtocolSet
  /// The address the table hashes: source for map, destination for rdr. Its length is the
  /// rule's rank: longer prefixes are tried first (`ip_nat.c: ipf_nat_checkout`, `ipf_nat_checkin`).
  let key: AddressPrefix
  /// The other address of a `from … to …` rule, if it has one.
  let otherAddress: AddressTest?
  let sourcePorts: PortSet
  let destinationPorts: PortSet
  /// A map rule's `tag` is a match condition (`ip_nat.c: ipf_nat_checkout`); on rdr it only labels packets.
  let matchedTag: String?
  /// Rules marked `round-robin` with the same left-hand side take turns.
  let roundRobin: Bool

  init(table: LookupTable, rule: Rule, index: Int, interface: String?, family: IPFamily, protocols: ProtocolSet,
       key: AddressPrefix, otherAddress: AddressTest?, sourcePorts: PortSet, destinationPorts: PortSet,
       matchedTag: String?, roundRobin: Bool) {
    self.table = table
    self.rule = rule
    self.index = index
    self.interface = interface
    self.family = family
    self.protocols = protocols
    self.key = key
    self.otherAddress = otherAddress
    self.sourcePorts = sourcePorts
    self.destinationPorts = destinationPorts
    self.matchedTag = matchedTag
    self.roundRobin = roundRobin
  }

  /// Where IPFilter's search of the table meets this entry.
  var rank: SearchRank { SearchRank(prefixLength: key.length, ordinal: index) }

  /// Whether IPFilter tries this entry before `other` in the same table.
  func isTried(before other: TableEntry) -> Bool { rank.isTried(before: other.rank) }

  /// Whether every packet `other` matches, this entry matches too.
  func covers(_ other: TableEntry) -> Bool {
    guard table == other.table, family == other.family, matchedTag == other.matchedTag,
      interface == nil || interface == other.interface,
      protocols.covers(other.protocols), key.contains(other.key)
    else { return false }
    if let otherAddress {
      let theirs = other.otherAddress ?? .any(family)
      guard otherAddress.covers(theirs) else { return false }
    }
    return covers(other, ports: \.sourcePorts) && covers(other, ports: \.destinationPorts)
  }

  /// Whether some packet matches both entries.
  func intersects(_ other: TableEntry) -> Bool {
    guard table == other.table, family == other.family, matchedTag == other.matchedTag,
      interface == nil || other.interface == nil || interface == other.interface,
      protocols.intersects(other.protocols), key.overlaps(other.key),
      sourcePorts.intersects(other.sourcePorts), destinationPorts.intersects(other.destinationPorts)
    else { return false }
    guard let mine = otherAddress, let theirs = other.otherAddress else { return true }
    return mine.intersects(theirs)
  }

  /// A port test passes only TCP and UDP packets, so it covers another rule's packets only if
  /// those are all TCP or UDP.
  private func covers(_ other: TableEntry, ports: KeyPath<TableEntry, PortSet>) -> Bool {
    let mine = self[keyPath: ports]
    if mine.isAll { return true }
    return other.protocols.carriesPortsOnly && mine.covers(other[keyPath: ports])
  }
}
