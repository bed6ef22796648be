import CNftables
import Glibc
import NFTKernel
import NFTModel

// libnftnl takes every attribute as uint16_t; Swift imports them as Int (anonymous C enums) or
// as structs (named ones). These spell the conversion once.
@inline(__always) func attribute(_ value: Int) -> UInt16 { UInt16(value) }
@inline(__always) func attribute(_ value: nftnl_table_attr) -> UInt16 { UInt16(value.rawValue) }
@inline(__always) func attribute(_ value: nftnl_chain_attr) -> UInt16 { UInt16(value.rawValue) }
@inline(__always) func attribute(_ value: nftnl_rule_attr) -> UInt16 { UInt16(value.rawValue) }
@inline(__always) func attribute(_ value: nftnl_set_attr) -> UInt16 { UInt16(value.rawValue) }

/// Writes a `KernelTable` into a batch as nf_tables messages, in the order nft uses: table,
/// chains, stateful objects, sets with their elements, rules.
struct KernelMessages {
  let batch: MessageBatch
  let family: UInt8
  let tableName: String

  func addTable() {
    batch.add(NFT_MSG_NEWTABLE, family: family, flags: NLM_F_CREATE, subject: .table(tableName)) { header in
      let table = nftnl_table_alloc()
      defer { nftnl_table_free(table) }
      nftnl_table_set_str(table, attribute(NFTNL_TABLE_NAME), tableName)
      nftnl_table_set_u32(table, attribute(NFTNL_TABLE_FLAGS), 0)
      nftnl_table_nlmsg_build_payload(header, table)
    }
  }

  func deleteTable() {
    batch.add(NFT_MSG_DELTABLE, family: family, flags: 0, subject: .table(tableName)) { header in
      let table = nftnl_table_alloc()
      defer { nftnl_table_free(table) }
      nftnl_table_set_str(table, attribute(NFTNL_TABLE_NAME), tableName)
      nftnl_table_nlmsg_build_payload(header, table)
    }
  }

  /// Everything of a table after the table itself.
  func addContents(of table: KernelTable) {
    for chain in table.chains { add(chain) }
    for object in table.objects { add(object) }
    for set in table.sets { add(set) }
    for rule in table.rules {
      for set in rule.sets { add(set) }
      add(rule)
    }
  }

  func add(_ chain: KernelChain) {
    batch.add(NFT_MSG_NEWCHAIN, family: family, flags: NLM_F_CREATE, subject: .chain(chain.name)) { header in
      let object = nftnl_chain_alloc()
      defer { nftnl_chain_free(object) }
      nftnl_chain_set_str(object, attribute(NFTNL_CHAIN_TABLE), tableName)
      nftnl_chain_set_str(object, attribute(NFTNL_CHAIN_NAME), chain.name)
      if let hook = chain.hook {
        nftnl_chain_set_u32(object, attribute(NFTNL_CHAIN_HOOKNUM), hook.number)
        nftnl_chain_set_s32(object, attribute(NFTNL_CHAIN_PRIO), hook.priority)
        nftnl_chain_set_str(object, attribute(NFTNL_CHAIN_TYPE), hook.type)
        nftnl_chain_set_u32(object, attribute(NFTNL_CHAIN_POLICY), UInt32(NF_ACCEPT))
      }
      nftnl_chain_nlmsg_build_payload(header, object)
    }
  }

  func add(_ object: KernelObject) {
    batch.add(NFT_MSG_NEWOBJ, family: family, flags: NLM_F_CREATE, subject: .object(object.name)) { header in
      let kernelObject = nftnl_obj_alloc()
      defer { nftnl_obj_free(kernelObject) }
      nftnl_obj_set_str(kernelObject, attribute(NFTNL_OBJ_TABLE), tableName)
      nftnl_obj_set_str(kernelObject, attribute(NFTNL_OBJ_NAME), object.name)
      nftnl_obj_set_u32(kernelObject, attribute(NFTNL_OBJ_TYPE), object.type)
      switch object {
      case .conntrackHelper(_, let helper, let layer3, let layer4):
        nftnl_obj_set_str(kernelObject, attribute(NFTNL_OBJ_CT_HELPER_NAME), helper)
        nftnl_obj_set_u16(kernelObject, attribute(NFTNL_OBJ_CT_HELPER_L3PROTO), layer3)
        nftnl_obj_set_u8(kernelObject, attribute(NFTNL_OBJ_CT_HELPER_L4PROTO), layer4)
      case .conntrackTimeout(_, let layer3, let layer4, let timeouts):
        nftnl_obj_set_u16(kernelObject, attribute(NFTNL_OBJ_CT_TIMEOUT_L3PROTO), layer3)
        nftnl_obj_set_u8(kernelObject, attribute(NFTNL_OBJ_CT_TIMEOUT_L4PROTO), layer4)
        var array = [UInt32](repeating: 0, count: Int(NFTNL_CTTIMEOUT_TCP_MAX.rawValue))
        for (index, value) in timeouts.enumerated() where index < array.count { array[index] = value }
        array.withUnsafeBytes {
          nftnl_obj_set_data(kernelObject, attribute(NFTNL_OBJ_CT_TIMEOUT_ARRAY), $0.baseAddress, UInt32($0.count))
        }
      }
      nftnl_obj_nlmsg_build_payload(header, kernelObject)
    }
  }

  func add(_ set: KernelSet) {
    let object = nftnl_set_alloc()!
    defer { nftnl_set_free(object) }
    nftnl_set_set_str(object, attribute(NFTNL_SET_TABLE), tableName)
    nftnl_set_set_str(object, attribute(NFTNL_SET_NAME), set.name)
    nftnl_set_set_u32(object, attribute(NFTNL_SET_ID), set.id)
    nftnl_set_set_u32(object, attribute(NFTNL_SET_FLAGS), set.flags.rawValue)
    nftnl_set_set_u32(object, attribute(NFTNL_SET_KEY_TYPE), set.keyType)
    nftnl_set_set_u32(object, attribute(NFTNL_SET_KEY_LEN), set.keyLength)
    if let dataType = set.dataType {
      nftnl_set_set_u32(object, attribute(NFTNL_SET_DATA_TYPE), dataType)
      nftnl_set_set_u32(object, attribute(NFTNL_SET_DATA_LEN), set.dataLength)
    }
    if let size = set.size { nftnl_set_set_u32(object, attribute(NFTNL_SET_DESC_SIZE), size) }
    if let timeout = set.timeout { nftnl_set_set_u64(object, attribute(NFTNL_SET_TIMEOUT), timeout) }
    if !set.concatenationFieldLengths.isEmpty {
      // libnftnl reads the lengths up to a zero one.
      let lengths = set.concatenationFieldLengths + [0]
      lengths.withUnsafeBytes {
        _ = nftnl_set_set_data(object, attribute(NFTNL_SET_DESC_CONCAT), $0.baseAddress, UInt32($0.count))
      }
    }
    set.userdata.withUnsafeBytes {
      _ = nftnl_set_set_data(object, attribute(NFTNL_SET_USERDATA), $0.baseAddress, UInt32($0.count))
    }
    batch.add(NFT_MSG_NEWSET, family: family, flags: NLM_F_CREATE, subject: .set(set.name)) { header in
      nftnl_set_nlmsg_build_payload(header, object)
    }
    changeElements(NFT_MSG_NEWSETELEM, set.elements, ofSet: set.name, id: set.id)
  }

  /// Adds elements to a set of the table, or renews them: an element that exists takes the
  /// new timeout (NLM_F_EXCL is not set), without ever being absent.
  func add(_ elements: [KernelElement], toSet name: String) {
    changeElements(NFT_MSG_NEWSETELEM, elements, ofSet: name)
  }

  func delete(_ elements: [KernelElement], fromSet name: String) {
    changeElements(NFT_MSG_DELSETELEM, elements, ofSet: name)
  }

  /// Deletes every element of a set, as `nft flush set` does: a DELSETELEM that names none.
  func flush(set name: String) {
    let object = nftnl_set_alloc()!
    defer { nftnl_set_free(object) }
    nftnl_set_set_str(object, attribute(NFTNL_SET_TABLE), tableName)
    nftnl_set_set_str(object, attribute(NFTNL_SET_NAME), name)
    batch.add(NFT_MSG_DELSETELEM, family: family, flags: 0, subject: .set(name)) { header in
      nftnl_set_elems_nlmsg_build_payload(header, object)
    }
  }

  /// Elements go to libnftnl a chunk at a time: it holds each in a struct of a few hundred
  /// bytes until its message is built, and would otherwise hold some 25 MB of them at once for a
  /// 100,000-element map. `id`: the set's, when it is created in this batch.
  private func changeElements(_ type: nf_tables_msg_types, _ elements: [KernelElement], ofSet name: String,
                              id: UInt32? = nil) {
    for start in stride(from: 0, to: elements.count, by: Self.elementsPerChunk) {
      let object = nftnl_set_alloc()!
      defer { nftnl_set_free(object) }
      nftnl_set_set_str(object, attribute(NFTNL_SET_TABLE), tableName)
      nftnl_set_set_str(object, attribute(NFTNL_SET_NAME), name)
      if let id { nftnl_set_set_u32(object, attribute(NFTNL_SET_ID), id) }
      for element in elements[start..<min(start + Self.elementsPerChunk, elements.count)] {
        nftnl_set_elem_add(object, Self.element(element))
      }
      addElements(of: object, named: name, type: type)
    }
  }

  /// About what one 64 KiB message holds of a fold's elements, so that chunks add few messages.
  private static let elementsPerChunk = 1024

  /// Elements go in messages of at most about 64 KiB each: the element list's 16-bit length
  /// would otherwise overflow, and the kernel would keep only part of the set, silently.
  func addElements(of set: OpaquePointer, named name: String, type: nf_tables_msg_types = NFT_MSG_NEWSETELEM) {
    guard let iterator = nftnl_set_elems_iter_create(set) else { return }
    defer { nftnl_set_elems_iter_destroy(iterator) }
    guard nftnl_set_elems_iter_cur(iterator) != nil else { return }
    // The builder answers 1 while elements remain for another message.
    var more = true
    while more {
      batch.add(type, family: family, flags: type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0, subject: .set(name)) { header in
        more = nftnl_set_elems_nlmsg_build_payload_iter(header, iterator) == 1
      }
    }
  }

  private static func element(_ element: KernelElement) -> OpaquePointer {
    let object = nftnl_set_elem_alloc()!
    element.key.withUnsafeBytes {
      _ = nftnl_set_elem_set(object, attribute(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count))
    }
    if let keyEnd = element.keyEnd {
      keyEnd.withUnsafeBytes {
        _ = nftnl_set_elem_set(object, attribute(NFTNL_SET_ELEM_KEY_END), $0.baseAddress, UInt32($0.count))
      }
    }
    if let data = element.data {
      data.withUnsafeBytes {
        _ = nftnl_set_elem_set(object, attribute(NFTNL_SET_ELEM_DATA), $0.baseAddress, UInt32($0.count))
      }
    }
    if let verdict = element.verdict {
      nftnl_set_elem_set_u32(object, attribute(NFTNL_SET_ELEM_VERDICT), UInt32(bitPattern: verdict.code))
      if let chain = verdict.chain { nftnl_set_elem_set_str(object, attribute(NFTNL_SET_ELEM_CHAIN), chain) }
    }
    if let timeout = element.timeout {
      nftnl_set_elem_set_u64(object, attribute(NFTNL_SET_ELEM_TIMEOUT), timeout)
    }
    if let userdata = element.userdata {
      userdata.withUnsafeBytes {
        _ = nftnl_set_elem_set(object, attribute(NFTNL_SET_ELEM_USERDATA), $0.baseAddress, UInt32($0.count))
      }
    }
    if element.isIntervalEnd {
      nftnl_set_elem_set_u32(object, attribute(NFTNL_SET_ELEM_FLAGS), NFT_SET_ELEM_INTERVAL_END.rawValue)
    }
    return object
  }

  /// Adds a rule at the end of its chain, or just before the rule with handle `before`; its
  /// counter starts from `counters` when given.
  func add(_ rule: KernelRule, before handle: UInt64? = nil, counters: TableImage.Counters? = nil) {
    let flags = handle == nil ? NLM_F_CREATE | NLM_F_APPEND : NLM_F_CREATE
    batch.add(NFT_MSG_NEWRULE, family: family, flags: flags, subject: .rule(chain: rule.chain, origin: rule.origin)) {
      header in
      let object = nftnl_rule_alloc()
      defer { nftnl_rule_free(object) }
      nftnl_rule_set_str(object, attribute(NFTNL_RULE_TABLE), tableName)
      nftnl_rule_set_str(object, attribute(NFTNL_RULE_CHAIN), rule.chain)
      if let handle { nftnl_rule_set_u64(object, attribute(NFTNL_RULE_POSITION), handle) }
      for expression in rule.expressions {
        let built = ExpressionBuilder.build(expression)
        if case .counter = expression, let counters {
          nftnl_expr_set_u64(built, UInt16(NFTNL_EXPR_CTR_PACKETS), counters.packets)
          nftnl_expr_set_u64(built, UInt16(NFTNL_EXPR_CTR_BYTES), counters.bytes)
        }
        nftnl_rule_add_expr(object, built)
      }
      if !rule.userdata.isEmpty {
        rule.userdata.withUnsafeBytes {
          _ = nftnl_rule_set_data(object, attribute(NFTNL_RULE_USERDATA), $0.baseAddress, UInt32($0.count))
        }
      }
      nftnl_rule_nlmsg_build_payload(header, object)
    }
  }

  func deleteRule(inChain chain: String, handle: UInt64, origin: Origin? = nil) {
    batch.add(NFT_MSG_DELRULE, family: family, flags: 0, subject: .rule(chain: chain, origin: origin)) { header in
      let object = nftnl_rule_alloc()
      defer { nftnl_rule_free(object) }
      nftnl_rule_set_str(object, attribute(NFTNL_RULE_TABLE), tableName)
      nftnl_rule_set_str(object, attribute(NFTNL_RULE_CHAIN), chain)
      nftnl_rule_set_u64(object, attribute(NFTNL_RULE_HANDLE), handle)
      nftnl_rule_nlmsg_build_payload(header, object)
    }
  }

  func deleteSet(named name: String) {
    batch.add(NFT_MSG_DELSET, family: family, flags: 0, subject: .set(name)) { header in
      let object = nftnl_set_alloc()
      defer { nftnl_set_free(object) }
      nftnl_set_set_str(object, attribute(NFTNL_SET_TABLE), tableName)
      nftnl_set_set_str(object, attribute(NFTNL_SET_NAME), name)
      nftnl_set_nlmsg_build_payload(header, object)
    }
  }

  func delete(_ object: KernelObject) {
    batch.add(NFT_MSG_DELOBJ, family: family, flags: 0, subject: .object(object.name)) { header in
      let kernelObject = nftnl_obj_alloc()
      defer { nftnl_obj_free(kernelObject) }
      nftnl_obj_set_str(kernelObject, attribute(NFTNL_OBJ_TABLE), tableName)
      nftnl_obj_set_str(kernelObject, attribute(NFTNL_OBJ_NAME), object.name)
      nftnl_obj_set_u32(kernelObject, attribute(NFTNL_OBJ_TYPE), object.type)
      nftnl_obj_nlmsg_build_payload(header, kernelObject)
    }
  }

  func deleteChain(named name: String) {
    batch.add(NFT_MSG_DELCHAIN, family: family, flags: 0, subject: .chain(name)) { header in
      let object = nftnl_chain_alloc()
      defer { nftnl_chain_free(object) }
      nftnl_chain_set_str(object, attribute(NFTNL_CHAIN_TABLE), tableName)
      nftnl_chain_set_str(object, attribute(NFTNL_CHAIN_NAME), name)
      nftnl_chain_nlmsg_build_payload(header, object)
    }
  }
}
