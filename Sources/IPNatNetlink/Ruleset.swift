import CNftables
import Glibc
import NFTKernel
import NFTModel

/// The kernel's nf_tables ruleset of the current network namespace, as far as ipnat touches
/// it: one table, replaced or removed in single transactions, read back for listing.
public final class KernelRuleset {
  let socket: NetlinkSocket
  private var sequence: UInt32
  /// Where loads leave a ``LoadRecord`` of what they sent, for the next update to compare
  /// with instead of reading the named sets back; nil keeps no records.
  public var loadRecords: LoadRecordStore?

  /// `bufferLimits`: at most this much socket buffer, asked for without the FORCE options, as
  /// a process without CAP_NET_ADMIN in the initial namespace gets it (a rootless container).
  /// For tests of what happens when a batch or its replies do not fit.
  public init(bufferLimits: SocketBufferLimits? = nil) throws(NetlinkError) {
    socket = try NetlinkSocket()
    socket.bufferLimits = bufferLimits
    sequence = UInt32(truncatingIfNeeded: time(nil))
  }

  func nextSequence(count: Int = 1) -> UInt32 {
    defer { sequence &+= UInt32(count) }
    return sequence
  }

  /// The ruleset's generation: it goes up by one with every committed transaction.
  public func generation() throws(NetlinkError) -> UInt32 {
    let sequence = nextSequence()
    var request = [UInt8](repeating: 0, count: 64)
    let length = request.withUnsafeMutableBytes { raw in
      let header = nftnl_nlmsg_build_hdr(raw.baseAddress!.assumingMemoryBound(to: CChar.self),
                                         UInt16(NFT_MSG_GETGEN.rawValue), UInt16(AF_UNSPEC), 0,
                                         sequence)!
      return Int(header.pointee.nlmsg_len)
    }
    let messages: [[UInt8]]
    do {
      messages = try socket.request(Array(request.prefix(length)), sequence: sequence)
    } catch .kernel(EPERM, _) {
      throw .notPermitted
    }
    for message in messages {
      var generation: UInt32?
      message.withUnsafeBytes { raw in
        let header = UnsafeMutablePointer(mutating: raw.baseAddress!.assumingMemoryBound(to: nlmsghdr.self))
        guard ipnat_message_subtype(UInt32(header.pointee.nlmsg_type)) == NFT_MSG_NEWGEN.rawValue else { return }
        let object = nftnl_gen_alloc()
        defer { nftnl_gen_free(object) }
        if nftnl_gen_nlmsg_parse(header, object) >= 0 {
          generation = nftnl_gen_get_u32(object, UInt16(NFTNL_GEN_ID))
        }
      }
      if let generation { return generation }
    }
    throw .system("read the ruleset generation", EPROTO)
  }

  /// How a batch should end.
  public enum Commit: Sendable {
    /// Apply it.
    case apply
    /// Let the kernel check everything, then discard it (the batch has no end marker), like `nft -c`.
    case checkOnly
  }

  /// Replaces our table with `table` in one transaction (create it, delete it, create it anew:
  /// the first message makes the delete valid when the table does not exist yet). With
  /// `generation`, the kernel refuses the batch if anything else changed the ruleset since.
  public func replace(with table: KernelTable, commit: Commit = .apply, generation: UInt32? = nil)
    throws(NetlinkError)
  {
    try transact(commit: commit, generation: generation, tableName: table.name) { messages in
      messages.addTable()
      messages.deleteTable()
      messages.addTable()
      messages.addContents(of: table)
    }
    if commit == .apply, let generation { keepRecord(of: table, generation: Self.generation(after: generation)) }
  }

  /// Removes our table; nothing else. A missing table is not an error.
  public func remove(table name: String, commit: Commit = .apply) throws(NetlinkError) {
    try transact(commit: commit, generation: nil, tableName: name) { messages in
      messages.addTable()
      messages.deleteTable()
    }
    if commit == .apply { loadRecords?.remove(table: name) }
  }

  /// Deletes loaded rules by handle, and elements of named maps, all in one transaction;
  /// refused if the ruleset changed since `generation`.
  /// The `rule_texts` elements of long rules that no rule is left to name go in the same
  /// transaction.
  public func delete(_ rules: [LoadedRule], elements: [TableUpdate.ElementChange] = [], fromTable name: String,
                     generation: UInt32) throws(NetlinkError) {
    let orphanedTexts = try textsOrphaned(byDeleting: Set(rules.map(\.handle)), inTable: name)
    try transact(commit: .apply, generation: generation, tableName: name) { messages in
      for rule in rules {
        messages.deleteRule(inChain: rule.chain, handle: rule.handle, origin: rule.identity.map(Origin.init))
      }
      for change in elements where !change.deleting.isEmpty { messages.delete(change.deleting, fromSet: change.set) }
      if !orphanedTexts.isEmpty { messages.delete(orphanedTexts, fromSet: RuleText.setName) }
    }
  }

  /// Empties the table's dynamic sets, whose elements packets added (the clients sticky
  /// round-robin targets remember), in one transaction; answers how many sets. A missing table,
  /// or one ipnat did not make, has none.
  public func flushDynamicSets(ofTable name: String) throws(NetlinkError) -> Int {
    guard let image = try rulesAndImage(ofTable: name).image else { return 0 }
    let dynamic = image.setNames.filter { image.sets[$0]?.definition.flags.contains(.dynamic) == true }
    guard !dynamic.isEmpty else { return 0 }
    try transact(commit: .apply, generation: nil, tableName: name) { messages in
      for set in dynamic { messages.flush(set: set) }
    }
    return dynamic.count
  }

  /// The `rule_texts` elements whose rule number no rule but the doomed ones has in its comment.
  private func textsOrphaned(byDeleting doomed: Set<UInt64>, inTable name: String) throws(NetlinkError)
    -> [KernelElement]
  {
    let dumped = try dump(table: name)
    guard let texts = dumped.sets.first(where: {
      String(cString: nftnl_set_get_str($0, attribute(NFTNL_SET_NAME))) == RuleText.setName
    }) else { return [] }
    var namedByRemainingRules: Set<UInt32> = []
    for rule in dumped.rules where !doomed.contains(nftnl_rule_get_u64(rule, attribute(NFTNL_RULE_HANDLE))) {
      if let link = Self.comment(of: rule).flatMap(Origin.textLink(inComment:)) { namedByRemainingRules.insert(link) }
    }
    var orphaned: [KernelElement] = []
    Self.forEachElement(of: texts) { element in
      guard let key = element.bytes(NFTNL_SET_ELEM_KEY), key.count == 4 else { return }
      let link = key.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } >> 8
      if !namedByRemainingRules.contains(link) { orphaned.append(KernelElement(key: key)) }
    }
    return orphaned
  }

  /// Elements to add (or renew) and to delete in one named set or map.
  public struct ElementChange: Sendable {
    public var set: String
    public var adding: [KernelElement]
    public var deleting: [KernelElement]

    public init(set: String, adding: [KernelElement] = [], deleting: [KernelElement] = []) {
      (self.set, self.adding, self.deleting) = (set, adding, deleting)
    }
  }

  /// Deletes, then adds or renews, elements of named sets or maps of `table`, all in one
  /// transaction (an element deleted and added again is never absent outside it). Deleting an
  /// element the kernel does not hold fails with ENOENT.
  public func changeElements(_ changes: [ElementChange], inTable table: String) throws(NetlinkError) {
    try transact(commit: .apply, generation: nil, tableName: table) { messages in
      for change in changes where !change.deleting.isEmpty { messages.delete(change.deleting, fromSet: change.set) }
      for change in changes where !change.adding.isEmpty { messages.add(change.adding, toSet: change.set) }
    }
  }

  /// ipnat's tables are `inet` tables.
  static let family: UInt8 = 1

  func transact(commit: Commit, generation: UInt32?, tableName: String,
                _ build: (KernelMessages) throws(NetlinkError) -> Void) throws(NetlinkError)
  {
    let batch = MessageBatch(firstSequence: nextSequence(count: 0))
    batch.begin(generation: generation)
    try build(KernelMessages(batch: batch, family: Self.family, tableName: tableName))
    if commit == .apply { batch.end() }
    _ = nextSequence(count: batch.subjects.count)
    socket.reserve(sending: batch.byteCount, replies: batch.messageCount)
    do {
      try socket.send(batch)
    } catch .system(_, EMSGSIZE) {
      throw .batchTooLarge(bytes: batch.byteCount, sendBuffer: socket.sendBufferSize)
    }
    let replies: [NetlinkReply]
    do {
      replies = try socket.drainReplies()
    } catch .system(_, ENOBUFS) {
      // No message asks for an acknowledgement, so every reply is an error, and a batch with
      // an error is aborted whole: replies too many to hold mean a refused batch.
      throw .refusedRepliesLost
    }
    try Self.check(replies, of: batch)
  }

  /// Turns error replies into one error: a refused batch as a whole, or each refused message
  /// with the ipnat.conf rule it came from.
  static func check(_ replies: [NetlinkReply], of batch: MessageBatch) throws(NetlinkError) {
    let errors = replies.filter { $0.error != 0 }
    guard !errors.isEmpty else { return }
    if let failure = errors.first(where: { $0.sequence == batch.beginSequence }) {
      switch failure.error {
      case EPERM: throw .notPermitted
      case ERESTART: throw .concurrentChange
      default: throw .kernel(failure.error, context: "the kernel refused the transaction")
      }
    }
    throw .rejected(errors.map { reply in
      let subject = batch.subjects[reply.sequence] ?? .batch
      return NetlinkError.Rejection(errorNumber: reply.error, origin: subject.origin, subject: subject.description)
    })
  }
}
