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
    var deleted = 0
    for entry in try connections() where entry.hasLabel(bit) {
      let sequence = nextSequence()
      do {
        try socket.request(entry.deletion(sequence: sequence, portID: socket.portID), sequence: sequence)
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

/// One conntrack entry as ctnetlink dumps it: its family and the attributes that identify it.
struct TrackedConnection {
  let family: UInt8
  /// `CTA_TUPLE_ORIG`, `CTA_ZONE` and `CTA_ID` as they came, headers included: a deletion
  /// sends them back unchanged.
  let identity: [UInt8]
  let labels: [UInt8]

  private static let headerLength = MemoryLayout<nlmsghdr>.size + MemoryLayout<nfgenmsg>.size

  init?(message: [UInt8]) {
    guard message.count >= Self.headerLength else { return nil }
    family = message[MemoryLayout<nlmsghdr>.size]
    var identity: [UInt8] = []
    var labels: [UInt8] = []
    var offset = Self.headerLength
    while offset + 4 <= message.count {
      // nlattr: length and type in host byte order; the type's top bits are flags.
      let (length, type) = message.withUnsafeBytes { raw in
        (Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)),
         UInt32(raw.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self) & 0x3fff))
      }
      guard length >= 4, offset + length <= message.count else { break }
      let aligned = (length + 3) & ~3
      switch type {
      case CTA_TUPLE_ORIG.rawValue, CTA_ZONE.rawValue, CTA_ID.rawValue:
        // Whole, header included, padded to 4 bytes as netlink lays attributes out.
        identity += message[offset..<offset + length] + [UInt8](repeating: 0, count: aligned - length)
      case CTA_LABELS.rawValue:
        labels = Array(message[offset + 4..<offset + length])
      default:
        break
      }
      offset += aligned
    }
    guard !identity.isEmpty else { return nil }
    self.identity = identity
    self.labels = labels
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
