import NFTModel

/// Turns the IR into what the kernel stores, the way nft 1.0.6 does for the same script, so
/// that a table loaded by ipnat lists exactly like one loaded with `nft -f`: the same
/// registers, payload offsets and lengths, byte orders, implicit protocol checks, interval
/// encodings and userdata.
public enum Linearizer {
  /// Each map of `table` is let go once encoded (``SetBuilder/addNamed(_:)``).
  public static func linearize(_ table: consuming Table) throws(LinearizationError) -> KernelTable {
    guard table.family == .inet else { throw .unsupported("a table of family \(table.family.rawValue)") }
    var sets = SetBuilder()
    try table.maps.drain { map throws(LinearizationError) in try sets.addNamed(map) }
    if !table.ruleTexts.isEmpty { sets.addRuleTexts(table.ruleTexts) }
    var rules: [KernelRule] = []
    // One linearizer for all rules, so that the sets it collects are never copied.
    var linearizer = RuleLinearizer(sets: sets)
    for chain in table.chains {
      for rule in chain.rules {
        let expressions = try linearizer.linearize(rule)
        var userdata = TLVWriter()
        if let origin = rule.origin { userdata.put(0, string: origin.comment) }
        rules.append(KernelRule(chain: chain.name, expressions: expressions, userdata: userdata.bytes,
                                origin: rule.origin, sets: linearizer.sets.takeAnonymousSets()))
      }
    }
    return KernelTable(family: nfprotoINET, name: table.name, chains: table.chains.map(kernelChain),
                       objects: table.objects.map(kernelObject), sets: linearizer.sets.sets, rules: rules)
  }

  static let nfprotoINET: UInt8 = 1

  /// One element of a named map, to add to or delete from a loaded map on its own.
  /// `timeout`: milliseconds, for a map with `flags timeout`.
  public static func element(_ element: MapElement, of map: NamedMap, timeout: UInt64? = nil)
    throws(LinearizationError) -> KernelElement
  {
    let key = ValueShape(map.key.map(ValueType.init), interval: map.intervalKey)
    // An interval of a single-part key is two elements, its start and an end marker, which a
    // lone change cannot keep consistent with its neighbours; a concatenated one is one element.
    guard !map.intervalKey || key.isConcatenatedInterval, !map.intervalData else {
      throw .unsupported("a lone element of an interval map")
    }
    let data = ValueShape(map.data.map(ValueType.init))
    let (low, high) = try key.bounds(of: element.key)
    return KernelElement(key: low, keyEnd: key.isInterval ? high : nil, data: try data.bytes(of: element.value),
                         timeout: timeout)
  }

  static func kernelChain(_ chain: Chain) -> KernelChain {
    KernelChain(name: chain.name, hook: chain.base.map { base in
      KernelChain.Hook(number: hookNumber(base.hook), priority: Int32(base.priority.value), type: base.kind.rawValue)
    })
  }

  static func hookNumber(_ hook: BaseChain.Hook) -> UInt32 {
    switch hook {
    case .prerouting: 0
    case .input: 1
    case .forward: 2
    case .output: 3
    case .postrouting: 4
    }
  }

  static func kernelObject(_ object: StatefulObject) -> KernelObject {
    switch object {
    case .conntrackHelper(let helper):
      .conntrackHelper(name: helper.name, helper: helper.type, layer3: layer3(helper.family),
                       layer4: layer4(helper.transport))
    case .conntrackTimeout(let timeout):
      .conntrackTimeout(name: timeout.name, layer3: layer3(timeout.family), layer4: layer4(timeout.transport),
                        timeouts: ConntrackTimeouts.array(for: timeout))
    }
  }

  static func layer3(_ family: ObjectFamily) -> UInt16 {
    switch family {
    case .ip: 2
    case .ip6: 10
    case .inet: 1
    }
  }

  static func layer4(_ transport: TransportProtocol) -> UInt8 { transport == .tcp ? 6 : 17 }
}

/// A conntrack timeout policy as the kernel takes it: every state of the protocol, in the
/// kernel's order, with nft's defaults where the policy names no value (as nft sends it).
enum ConntrackTimeouts {
  static let tcpStates = ["syn_sent", "syn_recv", "established", "fin_wait", "close_wait", "last_ack",
                          "time_wait", "close", "syn_sent2", "retrans", "unack"]
  static let tcpDefaults: [UInt32] = [120, 60, 432_000, 120, 60, 30, 120, 10, 120, 300, 300]
  static let udpStates = ["unreplied", "replied"]
  static let udpDefaults: [UInt32] = [30, 180]

  static func array(for timeout: ConntrackTimeout) -> [UInt32] {
    let states = timeout.transport == .tcp ? tcpStates : udpStates
    var values = timeout.transport == .tcp ? tcpDefaults : udpDefaults
    for entry in timeout.policy {
      if let index = states.firstIndex(of: entry.state) { values[index] = entry.seconds }
    }
    return values
  }
}
