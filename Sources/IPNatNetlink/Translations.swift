import CNftables
import Glibc

/// The kernel's connection tracking table, through ctnetlink: the active translations.
extension KernelRuleset {
  /// Deletes every conntrack entry whose labels include `bit` (the translations ipnat's rules
  /// made: see `TranslationLabel`), and nothing else; returns how many. Each entry is deleted
  /// by its tuple and id, so a connection that ended, and another that took its tuple since,
  /// is left alone. What follows a deleted entry's connection is translated afresh, by the
  /// rules loaded now.
  public func deleteConnections(labelled bit: UInt8) throws(NetlinkError) -> Int {
    try deleteConnections { $0.hasLabel(bit) }
  }

  /// Deletes every IPv4 conntrack entry whose tuples `doomed` picks; returns how many.
  public func deleteConnections(where doomed: (ConnectionTuples) -> Bool) throws(NetlinkError) -> Int {
    try deleteConnections { entry in entry.tuples.map(doomed) ?? false }
  }

  private func deleteConnections(picking doomed: (TrackedConnection) -> Bool) throws(NetlinkError) -> Int {
    var deleted = 0
    for entry in try connections() where doomed(entry) {
      let sequence = nextSequence()
      do {
        _ = try socket.request(entry.deletion(sequence: sequence, portID: socket.portID), sequence: sequence)
        deleted += 1
      } catch .kernel(ENOENT, _) {
        continue  // it ended between the dump and now
      }
    }
    return deleted
  }

  /// Every entry of the table, IPv4 and IPv6.
  private func connections() throws(NetlinkError) -> [TrackedConnection] {
    let sequence = nextSequence()
    let request = TrackedConnection.message(type: UInt16(IPCTNL_MSG_CT_GET.rawValue), flags: NLM_F_REQUEST | NLM_F_DUMP,
                                            family: UInt8(AF_UNSPEC), sequence: sequence, portID: socket.portID)
    do {
      return try socket.request(request, sequence: sequence).compactMap(TrackedConnection.init)
    } catch .kernel(EPERM, _) {
      throw .notPermitted
    }
  }
}

/// An IPv4 connection's two directions, as conntrack keeps them: `original` as its first
/// packet came, `reply` as replies come (after NAT, the translated addresses appear here).
public struct ConnectionTuples: Sendable, Hashable {
  public struct Tuple: Sendable, Hashable {
    public var source: UInt32
    public var destination: UInt32
    public var protocolNumber: UInt8
    public var sourcePort: UInt16
    public var destinationPort: UInt16
  }

  public var original: Tuple
  public var reply: Tuple
}

/// One conntrack entry as ctnetlink dumps it: its family and the attributes that identify it.
struct TrackedConnection {
  let family: UInt8
  /// `CTA_TUPLE_ORIG`, `CTA_ZONE` and `CTA_ID` as they came, headers included: a deletion
  /// sends them back unchanged.
  let identity: [UInt8]
  let labels: [UInt8]
  /// For IPv4 entries of a protocol with ports (or ids); nil otherwise.
  let tuples: ConnectionTuples?

  private static let headerLength = MemoryLayout<nlmsghdr>.size + MemoryLayout<nfgenmsg>.size

  init?(message: [UInt8]) {
    guard message.count >= Self.headerLength else { return nil }
    family = message[MemoryLayout<nlmsghdr>.size]
    var identity: [UInt8] = []
    var labels: [UInt8] = []
    var original: ConnectionTuples.Tuple?
    var reply: ConnectionTuples.Tuple?
    for (type, range) in Self.attributes(of: message, in: Self.headerLength..<message.count) {
      switch type {
      case CTA_TUPLE_ORIG.rawValue, CTA_ZONE.rawValue, CTA_ID.rawValue:
        // Whole, header included, padded to 4 bytes as netlink lays attributes out.
        let whole = range.lowerBound - 4..<range.upperBound
        identity += message[whole] + [UInt8](repeating: 0, count: (whole.count + 3) / 4 * 4 - whole.count)
        if type == CTA_TUPLE_ORIG.rawValue { original = Self.tuple(message, range) }
      case CTA_TUPLE_REPLY.rawValue:
        reply = Self.tuple(message, range)
      case CTA_LABELS.rawValue:
        labels = Array(message[range])
      default:
        break
      }
    }
    guard !identity.isEmpty else { return nil }
    self.identity = identity
    self.labels = labels
    self.tuples = original.flatMap { original in reply.map { ConnectionTuples(original: original, reply: $0) } }
  }

  /// The attributes in `range` of `message`: each type (without its flag bits) and the range of
  /// its payload.
  static func attributes(of message: [UInt8], in range: Range<Int>) -> [(UInt32, Range<Int>)] {
    var found: [(UInt32, Range<Int>)] = []
    var offset = range.lowerBound
    while offset + 4 <= range.upperBound {
      // nlattr: length and type in host byte order; the type's top bits are flags.
      let (length, type) = message.withUnsafeBytes { raw in
        (Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)),
         UInt32(raw.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self) & 0x3fff))
      }
      guard length >= 4, offset + length <= range.upperBound else { break }
      found.append((type, offset + 4..<offset + length))
      offset += (length + 3) & ~3
    }
    return found
  }

  /// A `CTA_TUPLE_*` of an IPv4 entry: addresses (`CTA_TUPLE_IP`), protocol and ports
  /// (`CTA_TUPLE_PROTO`), all in network byte order.
  private static func tuple(_ message: [UInt8], _ range: Range<Int>) -> ConnectionTuples.Tuple? {
    var tuple = ConnectionTuples.Tuple(source: 0, destination: 0, protocolNumber: 0, sourcePort: 0, destinationPort: 0)
    var hasAddresses = false
    func big(_ range: Range<Int>) -> UInt64 { message[range].reduce(0) { $0 << 8 | UInt64($1) } }
    for (type, inner) in attributes(of: message, in: range) {
      for (field, value) in attributes(of: message, in: inner) {
        switch (type, field) {
        case (CTA_TUPLE_IP.rawValue, CTA_IP_V4_SRC.rawValue) where value.count == 4:
          (tuple.source, hasAddresses) = (UInt32(big(value)), true)
        case (CTA_TUPLE_IP.rawValue, CTA_IP_V4_DST.rawValue) where value.count == 4:
          tuple.destination = UInt32(big(value))
        case (CTA_TUPLE_PROTO.rawValue, CTA_PROTO_NUM.rawValue) where value.count == 1:
          tuple.protocolNumber = message[value.lowerBound]
        case (CTA_TUPLE_PROTO.rawValue, CTA_PROTO_SRC_PORT.rawValue) where value.count == 2:
          tuple.sourcePort = UInt16(big(value))
        case (CTA_TUPLE_PROTO.rawValue, CTA_PROTO_DST_PORT.rawValue) where value.count == 2:
          tuple.destinationPort = UInt16(big(value))
        default:
          break
        }
      }
    }
    return hasAddresses ? tuple : nil
  }

  /// Bit `n` of the labels is bit `n % 8` of byte `n / 8`, as `ct label set` writes it.
  func hasLabel(_ bit: UInt8) -> Bool {
    Int(bit / 8) < labels.count && labels[Int(bit / 8)] & (1 << (bit % 8)) != 0
  }

  /// IPCTNL_MSG_CT_DELETE for this entry, asking for an acknowledgement.
  func deletion(sequence: UInt32, portID: UInt32) -> [UInt8] {
    Self.message(type: UInt16(IPCTNL_MSG_CT_DELETE.rawValue), flags: NLM_F_REQUEST | NLM_F_ACK, family: family,
                 sequence: sequence, portID: portID, attributes: identity)
  }

  /// A ctnetlink message: netlink header, nfgenmsg, then attributes already laid out.
  static func message(type: UInt16, flags: Int32, family: UInt8, sequence: UInt32, portID: UInt32,
                      attributes: [UInt8] = []) -> [UInt8]
  {
    var header = nlmsghdr()
    header.nlmsg_len = UInt32(headerLength + attributes.count)
    header.nlmsg_type = UInt16(NFNL_SUBSYS_CTNETLINK) << 8 | type
    header.nlmsg_flags = UInt16(flags)
    header.nlmsg_seq = sequence
    header.nlmsg_pid = portID
    var general = nfgenmsg()
    general.nfgen_family = family
    general.version = UInt8(NFNETLINK_V0)
    return withUnsafeBytes(of: &header) { Array($0) } + withUnsafeBytes(of: &general) { Array($0) } + attributes
  }
}
