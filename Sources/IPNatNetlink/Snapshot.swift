import CNftables
import Glibc
import NFTModel

/// Our table exactly as the kernel held it at one moment: chains, objects, sets with their
/// elements, and rules with their counters. Restoring it replaces the table in one transaction,
/// which is how `load --confirm` rolls back.
public final class TableSnapshot {
  public let tableName: String
  let dumped: DumpedObjects

  init(tableName: String, dumped: DumpedObjects) {
    self.tableName = tableName
    self.dumped = dumped
  }

  /// Whether the table existed when the snapshot was taken.
  public var tableExisted: Bool { dumped.table != nil }
}

extension KernelRuleset {
  public func snapshot(ofTable name: String) throws(NetlinkError) -> TableSnapshot {
    TableSnapshot(tableName: name, dumped: try dump(table: name))
  }

  /// Puts the table back as the snapshot holds it (or removes it if it did not exist then).
  public func restore(_ snapshot: TableSnapshot) throws(NetlinkError) {
    let dumped = snapshot.dumped
    guard dumped.table != nil else { return try remove(table: snapshot.tableName) }
    try transact(commit: .apply, generation: nil, tableName: snapshot.tableName) { messages in
      messages.addTable()
      messages.deleteTable()
      messages.addTable()
      let batch = messages.batch
      for chain in dumped.chains {
        for attribute in [NFTNL_CHAIN_HANDLE, NFTNL_CHAIN_USE, NFTNL_CHAIN_PACKETS, NFTNL_CHAIN_BYTES,
                          NFTNL_CHAIN_FLAGS, NFTNL_CHAIN_ID] {
          nftnl_chain_unset(chain, UInt16(attribute.rawValue))
        }
        let name = String(cString: nftnl_chain_get_str(chain, UInt16(NFTNL_CHAIN_NAME.rawValue)))
        batch.add(NFT_MSG_NEWCHAIN, family: Self.family, flags: NLM_F_CREATE, subject: .chain(name)) {
          nftnl_chain_nlmsg_build_payload($0, chain)
        }
      }
      for object in dumped.objects {
        // libnftnl 1.2.4 exports no nftnl_obj_unset; the kernel ignores a handle in NEWOBJ.
        let name = String(cString: nftnl_obj_get_str(object, UInt16(NFTNL_OBJ_NAME)))
        batch.add(NFT_MSG_NEWOBJ, family: Self.family, flags: NLM_F_CREATE, subject: .object(name)) {
          nftnl_obj_nlmsg_build_payload($0, object)
        }
      }
      // Anonymous sets are created again as nft creates them: with a name template the kernel
      // numbers, and an id by which the rules of the same batch find them.
      var anonymousSets: [String: (template: String, id: UInt32)] = [:]
      for (index, set) in dumped.sets.enumerated() {
        nftnl_set_unset(set, UInt16(NFTNL_SET_HANDLE.rawValue))
        var name = String(cString: nftnl_set_get_str(set, UInt16(NFTNL_SET_NAME.rawValue)))
        let id = UInt32(index + 1)
        nftnl_set_set_u32(set, UInt16(NFTNL_SET_ID.rawValue), id)
        if nftnl_set_get_u32(set, UInt16(NFTNL_SET_FLAGS.rawValue)) & NFT_SET_ANONYMOUS.rawValue != 0 {
          let template = name.hasPrefix("__map") ? "__map%d" : "__set%d"
          anonymousSets[name] = (template, id)
          nftnl_set_set_str(set, UInt16(NFTNL_SET_NAME.rawValue), template)
          name = template
        }
        batch.add(NFT_MSG_NEWSET, family: Self.family, flags: NLM_F_CREATE, subject: .set(name)) {
          nftnl_set_nlmsg_build_payload($0, set)
        }
        messages.addElements(of: set, named: name)
      }
      for rule in dumped.rules {
        let restored = restorable(rule, anonymousSets: anonymousSets)
        defer { nftnl_rule_free(restored) }
        let chain = String(cString: nftnl_rule_get_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue)))
        let origin = Self.comment(of: rule).flatMap(Origin.init(comment:))
        batch.add(NFT_MSG_NEWRULE, family: Self.family, flags: NLM_F_CREATE | NLM_F_APPEND,
                  subject: .rule(chain: chain, origin: origin)) {
          nftnl_rule_nlmsg_build_payload($0, restored)
        }
      }
    }
  }

  /// A copy of a dumped rule that the kernel takes back: without its handle and position,
  /// with lookups pointing at the re-created anonymous sets, and without the attributes the
  /// kernel reports but refuses (the flags of a TCP option write). libnftnl cannot remove an
  /// attribute, so expressions are copied attribute by attribute.
  func restorable(_ rule: OpaquePointer, anonymousSets: [String: (template: String, id: UInt32)]) -> OpaquePointer {
    let copy = nftnl_rule_alloc()!
    for attribute in [NFTNL_RULE_TABLE, NFTNL_RULE_CHAIN, NFTNL_RULE_USERDATA] {
      var length: UInt32 = 0
      if nftnl_rule_is_set(rule, UInt16(attribute.rawValue)),
        let data = nftnl_rule_get_data(rule, UInt16(attribute.rawValue), &length)
      {
        nftnl_rule_set_data(copy, UInt16(attribute.rawValue), data, length)
      }
    }
    Self.forEachExpression(of: rule) { expression in
      let kind = String(cString: nftnl_expr_get_str(expression, UInt16(NFTNL_EXPR_NAME)))
      let expressionCopy = nftnl_expr_alloc(kind)!
      let writesTCPOption = kind == "exthdr" && nftnl_expr_is_set(expression, UInt16(NFTNL_EXPR_EXTHDR_SREG))
      for attribute in 1..<32 {
        if writesTCPOption && attribute == NFTNL_EXPR_EXTHDR_FLAGS { continue }
        var length: UInt32 = 0
        guard nftnl_expr_is_set(expression, UInt16(attribute)),
          let data = nftnl_expr_get(expression, UInt16(attribute), &length)
        else { continue }
        nftnl_expr_set(expressionCopy, UInt16(attribute), data, length)
      }
      if kind == "lookup", let set = nftnl_expr_get_str(expression, UInt16(NFTNL_EXPR_LOOKUP_SET)),
        let renamed = anonymousSets[String(cString: set)]
      {
        nftnl_expr_set_str(expressionCopy, UInt16(NFTNL_EXPR_LOOKUP_SET), renamed.template)
        nftnl_expr_set_u32(expressionCopy, UInt16(NFTNL_EXPR_LOOKUP_SET_ID), renamed.id)
      }
      nftnl_rule_add_expr(copy, expressionCopy)
    }
    return copy
  }
}
