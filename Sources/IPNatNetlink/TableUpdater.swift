import CNftables
import Glibc
import NFTKernel
import NFTModel

extension KernelRuleset {
  /// Loads `table` by sending only what differs from the table the kernel holds: rules that
  /// stay keep their handles and counters. Answers the update made (empty if nothing differed),
  /// or nil, changing nothing, where ``TableUpdate/between(loaded:compiled:)`` makes none or
  /// the loaded table holds what an image does not show; the caller then replaces the table.
  /// Refused whole if the ruleset changed since `generation`.
  /// The named sets' elements are taken from the ``LoadRecord`` of ipnat's last load when
  /// nothing has committed since (`generation` is the one that load left).
  public func update(to table: KernelTable, generation: UInt32) throws(NetlinkError) -> TableUpdate? {
    let dumped = try dump(table: table.name, recorded: recordedSets(ofTable: table.name, generation: generation))
    guard var update = try plannedUpdate(to: table, from: dumped) else { return nil }
    update.setsComparedFromRecord = dumped.recordedElements.count
    guard !update.isEmpty else {
      keepRecord(of: table, generation: generation)
      return update
    }
    try transact(commit: .apply, generation: generation, tableName: table.name) { messages in
      messages.add(update, of: table)
    }
    keepRecord(of: table, generation: Self.generation(after: generation))
    return update
  }

  /// The update that would load `table`, worked out and not sent (`ipnat diff`); nil where
  /// ``update(to:generation:)`` would replace the table.
  public func plannedUpdate(to table: KernelTable) throws(NetlinkError) -> TableUpdate? {
    try plannedUpdate(to: table, from: try dump(table: table.name))
  }

  /// The loaded rules and ``plannedUpdate(to:)``, from one read of the table (`ipnat diff`):
  /// reading back a large table is most of what either costs.
  public func rulesAndPlannedUpdate(to table: KernelTable) throws(NetlinkError) -> (rules: [LoadedRule], update: TableUpdate?) {
    let dumped = try dump(table: table.name)
    return (Self.loadedRules(in: dumped), try plannedUpdate(to: table, from: dumped))
  }

  /// The loaded rules and the table's image, from one read of the table (`ipnat -r`).
  public func rulesAndImage(ofTable name: String) throws(NetlinkError) -> (rules: [LoadedRule], image: TableImage?) {
    let dumped = try dump(table: name)
    guard dumped.table != nil else { return ([], nil) }
    return (Self.loadedRules(in: dumped), Self.image(of: dumped))
  }

  private func plannedUpdate(to table: KernelTable, from dumped: DumpedObjects) throws(NetlinkError) -> TableUpdate? {
    guard dumped.table != nil, try !holdsFlowtables(table.name), let loaded = Self.image(of: dumped) else { return nil }
    return TableUpdate.between(loaded: loaded, compiled: table.image)
  }

  /// Whether the table holds a flowtable: ipnat writes none, and an update would keep it where
  /// a full load removes it.
  private func holdsFlowtables(_ name: String) throws(NetlinkError) -> Bool {
    let attributeTable = UInt16(NFTNL_FLOWTABLE_TABLE.rawValue)
    let flowtables = try dumpObjects(NFT_MSG_GETFLOWTABLE, table: name, alloc: { nftnl_flowtable_alloc() },
                                     setTable: { nftnl_flowtable_set_str($0, attributeTable, $1) },
                                     build: { nftnl_flowtable_nlmsg_build_payload($0, $1) },
                                     parse: { nftnl_flowtable_nlmsg_parse($0, $1) },
                                     tableOf: { nftnl_flowtable_get_str($0, attributeTable) },
                                     free: { nftnl_flowtable_free($0) })
    flowtables.forEach { nftnl_flowtable_free($0) }
    return !flowtables.isEmpty
  }

  /// The image of a dumped table; nil if it holds what ipnat does not write and an image does
  /// not show, so that an update could keep it where a full load would not: an object of
  /// another kind, table flags (`dormant`), a chain's policy other than accept, or a chain's
  /// comment.
  static func image(of dumped: DumpedObjects) -> TableImage? {
    if let table = dumped.table, nftnl_table_is_set(table, attribute(NFTNL_TABLE_FLAGS)),
      nftnl_table_get_u32(table, attribute(NFTNL_TABLE_FLAGS)) != 0
    {
      return nil
    }
    for chain in dumped.chains {
      if nftnl_chain_is_set(chain, attribute(NFTNL_CHAIN_POLICY)),
        nftnl_chain_get_u32(chain, attribute(NFTNL_CHAIN_POLICY)) != UInt32(NF_ACCEPT)
      {
        return nil
      }
      if nftnl_chain_is_set(chain, attribute(NFTNL_CHAIN_USERDATA)) { return nil }
    }
    var objects: [KernelObject] = []
    for object in dumped.objects {
      guard let known = kernelObject(object) else { return nil }
      objects.append(known)
    }
    var named: [(name: String, content: TableImage.SetContent)] = []
    var anonymous: [String: TableImage.SetContent] = [:]
    for set in dumped.sets {
      let name = String(cString: nftnl_set_get_str(set, attribute(NFTNL_SET_NAME)))
      let content = setContent(set, recordedElements: dumped.recordedElements[name])
      if content.definition.flags.contains(.anonymous) { anonymous[name] = content } else { named.append((name, content)) }
    }
    let rules = dumped.rules.map { rule in
      var lookedUp: [TableImage.SetContent] = []
      var parts: [String] = []
      var counters = TableImage.Counters()
      forEachExpression(of: rule) { expression in
        let kind = String(cString: nftnl_expr_get_str(expression, attribute(NFTNL_EXPR_NAME)))
        if kind == "counter" {
          counters.packets += nftnl_expr_get_u64(expression, attribute(NFTNL_EXPR_CTR_PACKETS))
          counters.bytes += nftnl_expr_get_u64(expression, attribute(NFTNL_EXPR_CTR_BYTES))
        }
        parts.append(kind == "counter" ? "counter" : describe(expression))
        if kind == "lookup", let set = nftnl_expr_get_str(expression, attribute(NFTNL_EXPR_LOOKUP_SET)),
          let content = anonymous[String(cString: set)]
        {
          lookedUp.append(content)
        }
      }
      let content = TableImage.RuleContent(fingerprint: parts.joined(separator: " "),
                                           userdata: bytes(of: rule, NFTNL_RULE_USERDATA) ?? [],
                                           anonymousSets: lookedUp)
      return TableImage.Rule(chain: String(cString: nftnl_rule_get_str(rule, attribute(NFTNL_RULE_CHAIN))),
                             content: content, handle: nftnl_rule_get_u64(rule, attribute(NFTNL_RULE_HANDLE)),
                             counters: counters)
    }
    return TableImage(chains: dumped.chains.map(kernelChain), objects: objects, sets: named, rules: rules)
  }

  private static func kernelChain(_ chain: OpaquePointer) -> KernelChain {
    let name = String(cString: nftnl_chain_get_str(chain, attribute(NFTNL_CHAIN_NAME)))
    guard nftnl_chain_is_set(chain, attribute(NFTNL_CHAIN_HOOKNUM)) else { return KernelChain(name: name, hook: nil) }
    let hook = KernelChain.Hook(number: nftnl_chain_get_u32(chain, attribute(NFTNL_CHAIN_HOOKNUM)),
                                priority: nftnl_chain_get_s32(chain, attribute(NFTNL_CHAIN_PRIO)),
                                type: String(cString: nftnl_chain_get_str(chain, attribute(NFTNL_CHAIN_TYPE))))
    return KernelChain(name: name, hook: hook)
  }

  private static func kernelObject(_ object: OpaquePointer) -> KernelObject? {
    let name = String(cString: nftnl_obj_get_str(object, attribute(NFTNL_OBJ_NAME)))
    switch nftnl_obj_get_u32(object, attribute(NFTNL_OBJ_TYPE)) {
    case 3:
      return .conntrackHelper(name: name,
                              helper: String(cString: nftnl_obj_get_str(object, attribute(NFTNL_OBJ_CT_HELPER_NAME))),
                              layer3: nftnl_obj_get_u16(object, attribute(NFTNL_OBJ_CT_HELPER_L3PROTO)),
                              layer4: nftnl_obj_get_u8(object, attribute(NFTNL_OBJ_CT_HELPER_L4PROTO)))
    case 7:
      var length: UInt32 = 0
      var timeouts = [UInt32](repeating: 0, count: Int(NFTNL_CTTIMEOUT_TCP_MAX.rawValue))
      if let data = nftnl_obj_get_data(object, attribute(NFTNL_OBJ_CT_TIMEOUT_ARRAY), &length) {
        let raw = UnsafeRawBufferPointer(start: data, count: Int(length))
        for index in 0..<min(timeouts.count, raw.count / 4) {
          timeouts[index] = raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)
        }
      }
      return .conntrackTimeout(name: name, layer3: nftnl_obj_get_u16(object, attribute(NFTNL_OBJ_CT_TIMEOUT_L3PROTO)),
                               layer4: nftnl_obj_get_u8(object, attribute(NFTNL_OBJ_CT_TIMEOUT_L4PROTO)),
                               timeouts: timeouts)
    default:
      return nil
    }
  }

  /// `recordedElements`: the set's elements from a ``LoadRecord``, when they were not dumped.
  private static func setContent(_ set: OpaquePointer, recordedElements: [KernelElement]?) -> TableImage.SetContent {
    func value(_ name: nftnl_set_attr) -> UInt32? {
      nftnl_set_is_set(set, attribute(name)) ? nftnl_set_get_u32(set, attribute(name)) : nil
    }
    var length: UInt32 = 0
    let userdata = nftnl_set_get_data(set, attribute(NFTNL_SET_USERDATA), &length)
      .map { Array(UnsafeRawBufferPointer(start: $0, count: Int(length))) } ?? []
    // libnftnl answers the concatenation's field lengths as bytes, one per field.
    var fieldCount: UInt32 = 0
    let fields = nftnl_set_is_set(set, attribute(NFTNL_SET_DESC_CONCAT))
      ? nftnl_set_get_data(set, attribute(NFTNL_SET_DESC_CONCAT), &fieldCount)
        .map { Array(UnsafeRawBufferPointer(start: $0, count: Int(fieldCount))) } ?? [] : []
    let timeout = nftnl_set_is_set(set, attribute(NFTNL_SET_TIMEOUT)) ? nftnl_set_get_u64(set, attribute(NFTNL_SET_TIMEOUT)) : nil
    let definition = TableImage.SetDefinition(
      flags: KernelSet.Flags(rawValue: value(NFTNL_SET_FLAGS) ?? 0), keyType: value(NFTNL_SET_KEY_TYPE) ?? 0,
      keyLength: value(NFTNL_SET_KEY_LEN) ?? 0, dataType: value(NFTNL_SET_DATA_TYPE),
      dataLength: value(NFTNL_SET_DATA_LEN) ?? 0, userdata: userdata, concatenationFieldLengths: fields,
      timeout: timeout)
    // What packets put in a dynamic set is not part of the table a load compares: an update
    // leaves it, so a sticky round-robin keeps its clients across a reload.
    if definition.flags.contains(.dynamic) { return TableImage.SetContent(definition: definition, elements: []) }
    return TableImage.SetContent(definition: definition, elements: recordedElements ?? elements(of: set))
  }

  /// The elements of a dumped set, in the compiled form.
  private static func elements(of set: OpaquePointer) -> [KernelElement] {
    var elements: [KernelElement] = []
    forEachElement(of: set) { element in
      let verdict = element.number(NFTNL_SET_ELEM_VERDICT).map { code in
        KernelVerdict(code: Int32(bitPattern: UInt32(truncatingIfNeeded: code)), chain: element.string(NFTNL_SET_ELEM_CHAIN))
      }
      let flags = element.number(NFTNL_SET_ELEM_FLAGS) ?? 0
      var converted = KernelElement(key: element.bytes(NFTNL_SET_ELEM_KEY) ?? [], keyEnd: element.bytes(NFTNL_SET_ELEM_KEY_END),
                                    data: element.bytes(NFTNL_SET_ELEM_DATA), verdict: verdict,
                                    isIntervalEnd: flags & UInt64(NFT_SET_ELEM_INTERVAL_END.rawValue) != 0,
                                    timeout: element.number(NFTNL_SET_ELEM_TIMEOUT))
      converted.userdata = element.bytes(NFTNL_SET_ELEM_USERDATA)
      elements.append(converted)
    }
    return elements
  }

  private static func bytes(of rule: OpaquePointer, _ name: nftnl_rule_attr) -> [UInt8]? {
    var length: UInt32 = 0
    guard nftnl_rule_is_set(rule, attribute(name)), let data = nftnl_rule_get_data(rule, attribute(name), &length)
    else { return nil }
    return Array(UnsafeRawBufferPointer(start: data, count: Int(length)))
  }
}

extension KernelTable {
  /// The image this table will have once loaded.
  public var image: TableImage {
    let rules = self.rules.enumerated().map { index, rule in
      let anonymous = rule.expressions.compactMap { expression -> TableImage.SetContent? in
        guard case .lookup(_, let name, let id, _) = expression,
          let set = rule.sets.first(where: { $0.id == id && $0.name == name })
        else { return nil }
        return TableImage.SetContent(set)
      }
      let content = TableImage.RuleContent(fingerprint: KernelRuleset.fingerprint(of: rule), userdata: rule.userdata,
                                           anonymousSets: anonymous)
      return TableImage.Rule(chain: rule.chain, content: content, handle: UInt64(index))
    }
    let objects = self.objects.map { object -> KernelObject in
      guard case .conntrackTimeout(let name, let layer3, let layer4, var timeouts) = object else { return object }
      // As the kernel reports it: an array of every state's value, zeros past the protocol's.
      timeouts += [UInt32](repeating: 0, count: max(0, Int(NFTNL_CTTIMEOUT_TCP_MAX.rawValue) - timeouts.count))
      return .conntrackTimeout(name: name, layer3: layer3, layer4: layer4, timeouts: timeouts)
    }
    let named = sets.filter { !$0.isAnonymous }.map { (name: $0.name, content: TableImage.SetContent($0)) }
    return TableImage(chains: chains, objects: objects, sets: named, rules: rules)
  }
}

extension KernelMessages {
  /// The messages of an update, in an order the kernel takes within one batch: what rules
  /// will use comes first, and what only removed rules used goes last.
  func add(_ update: TableUpdate, of table: KernelTable) {
    for chain in update.addedChains { add(chain) }
    for object in update.addedObjects { add(object) }
    for set in table.sets where update.addedSets.contains(set.name) { add(set) }
    for rule in update.removedRules { deleteRule(inChain: rule.chain, handle: rule.handle) }
    for change in update.elementChanges where !change.deleting.isEmpty { delete(change.deleting, fromSet: change.set) }
    for change in update.elementChanges where !change.adding.isEmpty { add(change.adding, toSet: change.set) }
    for added in update.addedRules {
      let rule = table.rules[added.index]
      for set in rule.sets { add(set) }
      switch added.placement {
      case .before(let handle): add(rule, before: handle, counters: added.counters)
      case .atEnd: add(rule, counters: added.counters)
      }
    }
    for name in update.removedSets { deleteSet(named: name) }
    for object in update.removedObjects { delete(object) }
    for name in update.removedChains { deleteChain(named: name) }
  }
}
