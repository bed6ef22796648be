import CNftables
import Glibc
import NFTKernel
import NFTModel

/// A rule as the kernel holds it, read back for `ipnat list` and `ipnat diff`.
public struct LoadedRule: Sendable, Hashable {
  public var chain: String
  /// The ipnat.conf rule it came from; nil for a rule that ipnat did not write.
  public var identity: RuleIdentity?
  public var packets: UInt64 = 0
  public var bytes: UInt64 = 0
  /// The rule's expressions as libnftnl prints them, without counter values, handles or the
  /// kernel's numbers for anonymous sets: equal fingerprints mean the same matching and action.
  public var fingerprint: String
  /// The kernel's handle, for deleting this one rule; 0 for a compiled rule not yet loaded.
  public var handle: UInt64 = 0

  /// A rule as compiled, not yet loaded: no counts, no handle.
  public init(chain: String, identity: RuleIdentity?, fingerprint: String) {
    (self.chain, self.identity, self.fingerprint) = (chain, identity, fingerprint)
  }
}

/// libnftnl objects dumped from the kernel, freed with the snapshot.
final class DumpedObjects {
  var table: OpaquePointer?
  var chains: [OpaquePointer] = []
  var objects: [OpaquePointer] = []
  var sets: [OpaquePointer] = []
  var rules: [OpaquePointer] = []
  /// Named sets whose elements were not dumped, by name, with their elements from a
  /// ``LoadRecord``.
  var recordedElements: [String: [KernelElement]] = [:]

  deinit {
    if let table { nftnl_table_free(table) }
    chains.forEach { nftnl_chain_free($0) }
    objects.forEach { nftnl_obj_free($0) }
    sets.forEach { nftnl_set_free($0) }
    rules.forEach { nftnl_rule_free($0) }
  }
}

extension KernelRuleset {
  /// The rules of our table, in chain order; empty when the table does not exist.
  public func rules(ofTable name: String) throws(NetlinkError) -> [LoadedRule] {
    Self.loadedRules(in: try dump(table: name))
  }

  /// The rules of a dumped table, in chain order.
  static func loadedRules(in dumped: DumpedObjects) -> [LoadedRule] {
    let texts = Self.ruleTexts(in: dumped)
    return dumped.rules.map { rule in
      let chain = String(cString: nftnl_rule_get_str(rule, attribute(NFTNL_RULE_CHAIN)))
      var counters: (UInt64, UInt64) = (0, 0)
      var parts: [String] = []
      Self.forEachExpression(of: rule) { expression in
        let kind = String(cString: nftnl_expr_get_str(expression, attribute(NFTNL_EXPR_NAME)))
        if kind == "counter" {
          counters.0 += nftnl_expr_get_u64(expression, attribute(NFTNL_EXPR_CTR_PACKETS))
          counters.1 += nftnl_expr_get_u64(expression, attribute(NFTNL_EXPR_CTR_BYTES))
          parts.append("counter")
        } else {
          parts.append(Self.describe(expression))
        }
      }
      let identity = Self.comment(of: rule).flatMap { RuleIdentity(comment: $0, texts: texts) }
      var loaded = LoadedRule(chain: chain, identity: identity, fingerprint: parts.joined(separator: " "))
      (loaded.packets, loaded.bytes) = counters
      loaded.handle = nftnl_rule_get_u64(rule, attribute(NFTNL_RULE_HANDLE))
      return loaded
    }
  }

  /// An element of a named set or map as the kernel holds it now.
  public struct LoadedElement: Sendable, Hashable {
    public var key: [UInt8]
    /// The last key of a concatenated interval element.
    public var keyEnd: [UInt8]?
    public var data: [UInt8]?
    /// Milliseconds until the kernel drops it (a set with `flags timeout`).
    public var expiration: UInt64?
    /// Its comment, if it has one.
    public var comment: String?

    public init(key: [UInt8], keyEnd: [UInt8]? = nil, data: [UInt8]? = nil, expiration: UInt64? = nil, comment: String? = nil) {
      (self.key, self.keyEnd, self.data, self.expiration, self.comment) = (key, keyEnd, data, expiration, comment)
    }
  }

  /// The elements of a named set or map of a table; empty when either does not exist.
  public func elements(ofSet setName: String, inTable name: String) throws(NetlinkError) -> [LoadedElement] {
    let dumped = try dump(table: name)
    guard let set = dumped.sets.first(where: { Self.name(of: $0) == setName }) else { return [] }
    return Self.loadedElements(of: set)
  }

  /// The elements packets put in a dynamic set: the clients one sticky round-robin target
  /// remembers (IPFilter's hostmap entries).
  public struct RememberedClients: Sendable, Hashable {
    public var set: String
    public var elements: [LoadedElement]

    public init(set: String, elements: [LoadedElement]) { (self.set, self.elements) = (set, elements) }
  }

  /// ``rules(ofTable:)``, and what the table's dynamic sets hold, from one read of the table.
  public func rulesAndRememberedClients(ofTable name: String) throws(NetlinkError)
    -> (rules: [LoadedRule], remembered: [RememberedClients])
  {
    let dumped = try dump(table: name)
    let dynamic = dumped.sets.filter {
      KernelSet.Flags(rawValue: nftnl_set_get_u32($0, attribute(NFTNL_SET_FLAGS))).contains(.dynamic)
    }
    return (Self.loadedRules(in: dumped), dynamic.map { RememberedClients(set: Self.name(of: $0), elements: Self.loadedElements(of: $0)) })
  }

  private static func name(of set: OpaquePointer) -> String {
    String(cString: nftnl_set_get_str(set, attribute(NFTNL_SET_NAME)))
  }

  private static func loadedElements(of set: OpaquePointer) -> [LoadedElement] {
    var elements: [LoadedElement] = []
    forEachElement(of: set) { element in
      guard let key = element.bytes(NFTNL_SET_ELEM_KEY) else { return }
      let comment = element.bytes(NFTNL_SET_ELEM_USERDATA).flatMap { userdata in
        userdata.withUnsafeBytes { Self.comment(inUserdata: $0) }
      }
      elements.append(LoadedElement(key: key, keyEnd: element.bytes(NFTNL_SET_ELEM_KEY_END),
                                    data: element.bytes(NFTNL_SET_ELEM_DATA),
                                    expiration: element.number(NFTNL_SET_ELEM_EXPIRATION), comment: comment))
    }
    return elements
  }

  /// One element of a dumped set, read attribute by attribute; nil for an attribute it lacks.
  struct DumpedElement {
    let element: OpaquePointer

    func bytes(_ field: Int) -> [UInt8]? {
      var length: UInt32 = 0
      guard nftnl_set_elem_is_set(element, attribute(field)),
        let data = nftnl_set_elem_get(element, attribute(field), &length)
      else { return nil }
      return Array(UnsafeRawBufferPointer(start: data, count: Int(length)))
    }

    func number(_ field: Int) -> UInt64? {
      guard nftnl_set_elem_is_set(element, attribute(field)) else { return nil }
      var length: UInt32 = 0
      guard let data = nftnl_set_elem_get(element, attribute(field), &length) else { return nil }
      return length == 8 ? data.loadUnaligned(as: UInt64.self) : UInt64(data.loadUnaligned(as: UInt32.self))
    }

    func string(_ field: Int) -> String? {
      guard nftnl_set_elem_is_set(element, attribute(field)) else { return nil }
      return String(cString: nftnl_set_elem_get_str(element, attribute(field)))
    }
  }

  /// Each element of a dumped set, in the kernel's order.
  static func forEachElement(of set: OpaquePointer, _ body: (DumpedElement) -> Void) {
    guard let iterator = nftnl_set_elems_iter_create(set) else { return }
    defer { nftnl_set_elems_iter_destroy(iterator) }
    // `next` answers the element it stands on, then moves on.
    while let element = nftnl_set_elems_iter_next(iterator) { body(DumpedElement(element: element)) }
  }

  /// Whether our table exists.
  public func tableExists(_ name: String) throws(NetlinkError) -> Bool {
    try dump(table: name, contents: false).table != nil
  }

  /// Reads our table and, unless `contents` is false, everything in it; but the elements of
  /// a set in `recorded` that only transactions change are taken from there.
  func dump(table name: String, contents: Bool = true, recorded: [String: [KernelElement]] = [:])
    throws(NetlinkError) -> DumpedObjects
  {
    let dumped = DumpedObjects()
    let tables = try dumpMessages(NFT_MSG_GETTABLE) { header in
      let table = nftnl_table_alloc()
      defer { nftnl_table_free(table) }
      nftnl_table_set_str(table, attribute(NFTNL_TABLE_NAME), name)
      nftnl_table_nlmsg_build_payload(header, table)
    }
    for message in tables {
      let table = nftnl_table_alloc()!
      if parse(message, { nftnl_table_nlmsg_parse($0, table) }),
        String(cString: nftnl_table_get_str(table, attribute(NFTNL_TABLE_NAME))) == name
      {
        dumped.table = table
      } else {
        nftnl_table_free(table)
      }
    }
    guard dumped.table != nil, contents else { return dumped }
    dumped.chains = try dumpObjects(NFT_MSG_GETCHAIN, table: name, alloc: { nftnl_chain_alloc() },
                                    setTable: { nftnl_chain_set_str($0, attribute(NFTNL_CHAIN_TABLE), $1) },
                                    build: { nftnl_chain_nlmsg_build_payload($0, $1) },
                                    parse: { nftnl_chain_nlmsg_parse($0, $1) },
                                    tableOf: { nftnl_chain_get_str($0, attribute(NFTNL_CHAIN_TABLE)) },
                                    free: { nftnl_chain_free($0) })
    dumped.objects = try dumpObjects(NFT_MSG_GETOBJ, table: name, alloc: { nftnl_obj_alloc() },
                                     setTable: { nftnl_obj_set_str($0, attribute(NFTNL_OBJ_TABLE), $1) },
                                     build: { nftnl_obj_nlmsg_build_payload($0, $1) },
                                     parse: { nftnl_obj_nlmsg_parse($0, $1) },
                                     tableOf: { nftnl_obj_get_str($0, attribute(NFTNL_OBJ_TABLE)) },
                                     free: { nftnl_obj_free($0) })
    dumped.sets = try dumpObjects(NFT_MSG_GETSET, table: name, alloc: { nftnl_set_alloc() },
                                  setTable: { nftnl_set_set_str($0, attribute(NFTNL_SET_TABLE), $1) },
                                  build: { nftnl_set_nlmsg_build_payload($0, $1) },
                                  parse: { nftnl_set_nlmsg_parse($0, $1) },
                                  tableOf: { nftnl_set_get_str($0, attribute(NFTNL_SET_TABLE)) },
                                  free: { nftnl_set_free($0) })
    for set in dumped.sets {
      let setName = String(cString: nftnl_set_get_str(set, attribute(NFTNL_SET_NAME)))
      if let elements = recorded[setName], LoadRecord.coversSet(withFlags: nftnl_set_get_u32(set, attribute(NFTNL_SET_FLAGS))) {
        dumped.recordedElements[setName] = elements
      } else {
        try dumpElements(into: set)
      }
    }
    dumped.rules = try dumpObjects(NFT_MSG_GETRULE, table: name, alloc: { nftnl_rule_alloc() },
                                   setTable: { nftnl_rule_set_str($0, attribute(NFTNL_RULE_TABLE), $1) },
                                   build: { nftnl_rule_nlmsg_build_payload($0, $1) },
                                   parse: { nftnl_rule_nlmsg_parse($0, $1) },
                                   tableOf: { nftnl_rule_get_str($0, attribute(NFTNL_RULE_TABLE)) },
                                   free: { nftnl_rule_free($0) })
    return dumped
  }

  private func dumpElements(into set: OpaquePointer) throws(NetlinkError) {
    let messages = try dumpMessages(NFT_MSG_GETSETELEM) { header in
      nftnl_set_elems_nlmsg_build_payload(header, set)
    }
    for message in messages { _ = parse(message) { nftnl_set_elems_nlmsg_parse($0, set) } }
  }

  /// Dumps one kind of object, keeping those of our table (the kernel filters by table for
  /// most kinds, but not on every version).
  func dumpObjects(_ type: nf_tables_msg_types, table: String, alloc: () -> OpaquePointer?,
                           setTable: (OpaquePointer, String) -> Void,
                           build: (UnsafeMutablePointer<nlmsghdr>, OpaquePointer) -> Void,
                           parse parseMessage: (UnsafeMutablePointer<nlmsghdr>, OpaquePointer) -> Int32,
                           tableOf: (OpaquePointer) -> UnsafePointer<CChar>?,
                           free: (OpaquePointer) -> Void) throws(NetlinkError) -> [OpaquePointer]
  {
    let filter = alloc()!
    setTable(filter, table)
    defer { free(filter) }
    let messages = try dumpMessages(type) { header in build(header, filter) }
    var objects: [OpaquePointer] = []
    for message in messages {
      let object = alloc()!
      if parse(message, { parseMessage($0, object) }), let owner = tableOf(object), String(cString: owner) == table {
        objects.append(object)
      } else {
        free(object)
      }
    }
    return objects
  }

  private func dumpMessages(_ type: nf_tables_msg_types, _ build: (UnsafeMutablePointer<nlmsghdr>) -> Void)
    throws(NetlinkError) -> [[UInt8]]
  {
    var request = [UInt8](repeating: 0, count: 4096)
    let sequence = nextSequence()
    let length = request.withUnsafeMutableBytes { raw in
      let header = nftnl_nlmsg_build_hdr(raw.baseAddress!.assumingMemoryBound(to: CChar.self),
                                         UInt16(type.rawValue), UInt16(Self.family), UInt16(NLM_F_DUMP), sequence)!
      build(header)
      return Int(header.pointee.nlmsg_len)
    }
    do {
      return try socket.request(Array(request.prefix(length)), sequence: sequence)
    } catch .kernel(ENOENT, _) {
      return []
    } catch .kernel(EPERM, _) {
      throw .notPermitted
    }
  }

  private func parse(_ message: [UInt8], _ body: (UnsafeMutablePointer<nlmsghdr>) -> Int32) -> Bool {
    var copy = message
    return copy.withUnsafeMutableBytes { raw in
      body(raw.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)) >= 0
    }
  }

  static func forEachExpression(of rule: OpaquePointer, _ body: (OpaquePointer) -> Void) {
    guard let iterator = nftnl_expr_iter_create(rule) else { return }
    defer { nftnl_expr_iter_destroy(iterator) }
    while let expression = nftnl_expr_iter_next(iterator) { body(expression) }
  }

  /// An expression as libnftnl prints it, with the kernel's number for an anonymous set
  /// (`__map3`) made neutral.
  static func describe(_ expression: OpaquePointer) -> String {
    if let translation = describeTranslation(expression) { return translation }
    let kind = String(cString: nftnl_expr_get_str(expression, attribute(NFTNL_EXPR_NAME)))
    // Every expression of every rule of a table that `load` compares comes through here: the
    // text is read from a buffer on the stack, as bytes.
    let text = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 1024) { buffer in
      let count = nftnl_expr_snprintf(buffer.baseAddress, buffer.count, expression,
                                      UInt32(NFTNL_OUTPUT_DEFAULT.rawValue), 0)
      let bytes = UnsafeRawBufferPointer(start: buffer.baseAddress, count: max(0, min(Int(count), buffer.count - 1)))
      return neutralizingAnonymousSetNumbers(bytes)
    }
    return "[\(kind) " + text + "]"
  }

  /// NAT expressions as the kernel keeps them: it fills in a missing maximum register with the
  /// minimum and adds the flags the registers imply, so both sides are described that way.
  static func describeTranslation(_ expression: OpaquePointer) -> String? {
    let kind = String(cString: nftnl_expr_get_str(expression, attribute(NFTNL_EXPR_NAME)))
    let attributes: (addressMinimum: Int?, addressMaximum: Int?, protoMinimum: Int, protoMaximum: Int, flags: Int,
                     type: Int?, family: Int?)
    switch kind {
    case "nat":
      attributes = (NFTNL_EXPR_NAT_REG_ADDR_MIN, NFTNL_EXPR_NAT_REG_ADDR_MAX, NFTNL_EXPR_NAT_REG_PROTO_MIN,
                    NFTNL_EXPR_NAT_REG_PROTO_MAX, NFTNL_EXPR_NAT_FLAGS, NFTNL_EXPR_NAT_TYPE, NFTNL_EXPR_NAT_FAMILY)
    case "masq":
      attributes = (nil, nil, NFTNL_EXPR_MASQ_REG_PROTO_MIN, NFTNL_EXPR_MASQ_REG_PROTO_MAX, NFTNL_EXPR_MASQ_FLAGS,
                    nil, nil)
    case "redir":
      attributes = (nil, nil, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFTNL_EXPR_REDIR_REG_PROTO_MAX, NFTNL_EXPR_REDIR_FLAGS,
                    nil, nil)
    default:
      return nil
    }
    func value(_ name: Int?) -> UInt32? {
      guard let name, nftnl_expr_is_set(expression, attribute(name)) else { return nil }
      return nftnl_expr_get_u32(expression, attribute(name))
    }
    var flags = value(attributes.flags) ?? 0
    var text = "[\(kind)"
    if let type = value(attributes.type) { text += " type \(type)" }
    if let family = value(attributes.family) { text += " family \(family)" }
    if let minimum = value(attributes.addressMinimum) {
      text += " addr \(minimum)-\(value(attributes.addressMaximum) ?? minimum)"
      flags |= 0x1
    }
    if let minimum = value(attributes.protoMinimum) {
      text += " proto \(minimum)-\(value(attributes.protoMaximum) ?? minimum)"
      if kind == "nat" { flags |= 0x2 }
    }
    return text + " flags \(flags)]"
  }

  static func neutralizingAnonymousSetNumbers(_ text: UnsafeRawBufferPointer) -> String {
    var result: [UInt8] = []
    result.reserveCapacity(text.count)
    var skippingNumber = false
    for byte in text {
      if skippingNumber, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "%")
        || byte == UInt8(ascii: "d")
      {
        continue
      }
      skippingNumber = false
      result.append(byte)
      skippingNumber = endsInAnonymousSetPrefix(result)
    }
    return String(decoding: result, as: UTF8.self)
  }

  /// Whether `bytes` end in `__set` or `__map`.
  private static func endsInAnonymousSetPrefix(_ bytes: [UInt8]) -> Bool {
    let count = bytes.count
    guard count >= 5, bytes[count - 5] == UInt8(ascii: "_"), bytes[count - 4] == UInt8(ascii: "_") else { return false }
    let last = (bytes[count - 3], bytes[count - 2], bytes[count - 1])
    return last == (UInt8(ascii: "s"), UInt8(ascii: "e"), UInt8(ascii: "t"))
      || last == (UInt8(ascii: "m"), UInt8(ascii: "a"), UInt8(ascii: "p"))
  }

  /// The comment TLV of a rule's userdata.
  static func comment(of rule: OpaquePointer) -> String? {
    var length: UInt32 = 0
    guard let data = nftnl_rule_get_data(rule, attribute(NFTNL_RULE_USERDATA), &length) else { return nil }
    return comment(inUserdata: UnsafeRawBufferPointer(start: data, count: Int(length)))
  }

  /// The whole texts of long rules, from the elements of the table's `rule_texts` set.
  static func ruleTexts(in dumped: DumpedObjects) -> [UInt32: String] {
    guard let set = dumped.sets.first(where: {
      String(cString: nftnl_set_get_str($0, attribute(NFTNL_SET_NAME))) == RuleText.setName
    }) else { return [:] }
    var pieces: [(key: UInt32, comment: String)] = []
    forEachElement(of: set) { element in
      if let key = element.bytes(NFTNL_SET_ELEM_KEY), key.count == 4,
        let comment = element.bytes(NFTNL_SET_ELEM_USERDATA).flatMap({ userdata in
          userdata.withUnsafeBytes { Self.comment(inUserdata: $0) }
        })
      {
        pieces.append((key.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }, comment))
      }
    }
    return RuleText.assemble(pieces)
  }

  /// The comment TLV (type 0 for rules and elements alike) of nft's userdata.
  static func comment(inUserdata userdata: UnsafeRawBufferPointer) -> String? {
    let bytes = Array(userdata)
    var index = 0
    while index + 2 <= bytes.count {
      let type = bytes[index]
      let size = Int(bytes[index + 1])
      let value = bytes[(index + 2)..<min(index + 2 + size, bytes.count)]
      if type == 0 { return String(decoding: value.prefix { $0 != 0 }, as: UTF8.self) }
      index += 2 + size
    }
    return nil
  }
}

extension KernelTable {
  /// The rules of a compiled table as `rules(ofTable:)` would read them back once loaded
  /// (counters at zero), for comparing what is loaded with what a file would load.
  public var expectedRules: [LoadedRule] {
    rules.map { rule in
      LoadedRule(chain: rule.chain, identity: rule.origin.map(RuleIdentity.init),
                 fingerprint: KernelRuleset.fingerprint(of: rule))
    }
  }
}

extension KernelRuleset {
  /// A compiled rule's expressions as ``describe(_:)`` prints them once loaded.
  static func fingerprint(of rule: KernelRule) -> String {
    let object = nftnl_rule_alloc()!
    defer { nftnl_rule_free(object) }
    var parts: [String] = []
    for expression in rule.expressions {
      if case .counter = expression {
        parts.append("counter")
        continue
      }
      let built = ExpressionBuilder.build(expression)
      // The kernel reports lookup flags even when they are zero.
      if case .lookup = expression { nftnl_expr_set_u32(built, attribute(NFTNL_EXPR_LOOKUP_FLAGS), 0) }
      nftnl_rule_add_expr(object, built)
      parts.append(describe(built))
    }
    return parts.joined(separator: " ")
  }
}
