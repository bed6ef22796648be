import IPAddressing
import NFTModel
import Testing

@testable import NFTKernel

/// The linearizer's choices, each as nft 1.0.6 makes it (read with `nft --debug=netlink` and
/// `--debug=mnl`). The loader tests check the same against the kernel; these run anywhere.
@Suite struct LinearizerTests {
  let eth0 = Match(.meta(.oifname), .string("eth0"))

  func linearize(_ rule: Rule, maps: [NamedMap] = []) throws -> KernelTable {
    let chain = Chain(name: "srcnat", base: BaseChain(kind: .nat, hook: .postrouting, priority: .named(.srcnat, offset: 0)),
                      rules: [rule])
    return try Linearizer.linearize(Table(family: .inet, name: "ipnat", maps: maps, chains: [chain]))
  }

  @Test func registersAre128BitWhereAlignedAnd32BitOtherwise() {
    #expect(RuleLinearizer.kernelRegister(1) == 1)
    #expect(RuleLinearizer.kernelRegister(2) == 9)
    #expect(RuleLinearizer.kernelRegister(4) == 11)
    #expect(RuleLinearizer.kernelRegister(5) == 2)
  }

  @Test func anIPv4FieldGetsItsFamilyCheckAndAByteAlignedPrefixLoadsOnlyItsBytes() throws {
    let rule = Rule(matches: [eth0, Match(.payload(PayloadField(.ip, .saddr)), .prefix(.ipv4(0x0a00_0000), length: 24))],
                    statements: [.nat(NATStatement(.masquerade))])
    let expressions = try linearize(rule).rules[0].expressions
    #expect(expressions == [
      .meta(key: 7, destination: 1), .compare(source: 1, op: .equal, data: Array("eth0".utf8) + [UInt8](repeating: 0, count: 12)),
      .meta(key: 15, destination: 1), .compare(source: 1, op: .equal, data: [2]),
      .payload(base: 1, offset: 12, length: 3, destination: 1), .compare(source: 1, op: .equal, data: [10, 0, 0]),
      .counter, .masquerade(ports: nil, flags: 0),
    ])
  }

  @Test func anUnalignedPrefixIsMasked() throws {
    let rule = Rule(matches: [Match(.payload(PayloadField(.ip, .daddr)), .prefix(.ipv4(0xc000_0240), length: 26))],
                    statements: [.verdict(.accept)], counter: false)
    let expressions = try linearize(rule).rules[0].expressions
    #expect(expressions.suffix(4) == [
      .payload(base: 1, offset: 16, length: 4, destination: 1),
      .bitwise(source: 1, destination: 1, mask: [255, 255, 255, 192], xor: [0, 0, 0, 0]),
      .compare(source: 1, op: .equal, data: [192, 0, 2, 64]),
      .verdict(.accept),
    ])
  }

  @Test func aPortRangeIsTwoComparisonsAndItsNegationARange() throws {
    let ports = Selector.payload(PayloadField(.th, .dport))
    let rule = Rule(matches: [Match(.meta(.l4proto), .symbol("tcp")), Match(ports, .integerRange(100, 102)),
                              Match(ports, .notEqual, .integerRange(5000, 5004))],
                    statements: [.verdict(.accept)], counter: false)
    let expressions = try linearize(rule).rules[0].expressions
    #expect(expressions.contains(.compare(source: 1, op: .greaterOrEqual, data: [0, 100])))
    #expect(expressions.contains(.compare(source: 1, op: .lessOrEqual, data: [0, 102])))
    #expect(expressions.contains(.range(source: 1, op: .notEqual, from: [0x13, 0x88], to: [0x13, 0x8c])))
  }

  /// map-block: the map's data is `address . port-range`, laid out in 32-bit registers after
  /// the address: ports from NFT_REG32_01, the upper bounds from NFT_REG32_02.
  @Test func mapBlockDataFillsConsecutive32BitRegisters() throws {
    let map = NamedMap(name: "mb_1", key: [.ipv4Address], data: [.ipv4Address, .service], intervalData: true,
                       elements: [MapElement(.address(.ipv4(0x0a01_0000)),
                                             .concatenation([.address(.ipv4(0xcb00_7100)), .integerRange(1024, 5055)]))])
    let rule = Rule(matches: [], statements: [.nat(NATStatement(
      .snat, family: .ip, address: .lookup(key: .selector(.payload(PayloadField(.ip, .saddr))), map: .named("mb_1"))))])
    let table = try linearize(rule, maps: [map])
    #expect(table.rules[0].expressions.last == .nat(NATExpression(
      type: 0, family: 2, addressMinimum: 1, addressMaximum: 10, ports: PortRegisters(minimum: 9, maximum: 11), flags: 0)))
    let set = try #require(table.sets.first)
    #expect(set.keyType == 7 && set.keyLength == 4 && set.dataType == 0x1cd && set.dataLength == 16)
    #expect(set.elements == [KernelElement(key: [10, 1, 0, 0],
                                           data: [203, 0, 113, 0, 4, 0, 0, 0, 203, 0, 113, 0, 0x13, 0xbf, 0, 0])])
    // Big-endian key, "concatenation" data byte order 0, data typeof concat, interval data.
    #expect(set.userdata == [0, 4, 2, 0, 0, 0, 1, 4, 0, 0, 0, 0, 4, 8, 0, 4, 13, 0, 0, 0, 1, 0, 6, 4, 1, 0, 0, 0])
  }

  /// A prefix-to-prefix map is an interval map: an end marker at zero, each start with its
  /// range, and an end marker one past it; nft sizes it by all three.
  @Test func prefixMapIsEncodedAsHalfOpenIntervals() throws {
    let rule = Rule(matches: [], statements: [.nat(NATStatement(
      .snat, family: .ip, mapsPrefix: true,
      address: .lookup(key: .selector(.payload(PayloadField(.ip, .saddr))),
                       map: .inline([MapElement(.prefix(.ipv4(0x0a00_0200), length: 24),
                                                .prefix(.ipv4(0xcb00_7100), length: 24))]))))])
    let table = try linearize(rule)
    #expect(table.sets.isEmpty)
    let set = try #require(table.rules[0].sets.first)
    #expect(set.flags == [.anonymous, .constant, .interval, .map])
    #expect(set.keyLength == 4 && set.dataLength == 8 && set.size == 3)
    #expect(set.elements == [
      KernelElement(key: [0, 0, 0, 0], isIntervalEnd: true),
      KernelElement(key: [10, 0, 2, 0], data: [203, 0, 113, 0, 203, 0, 113, 255]),
      KernelElement(key: [10, 0, 3, 0], isIntervalEnd: true),
    ])
    #expect(table.rules[0].expressions.last == .nat(NATExpression(
      type: 0, family: 2, addressMinimum: 1, addressMaximum: 9, ports: nil, flags: 0x40)))
  }

  /// A concatenated interval key (`inet_proto . inet_service . ipv4_addr . inet_service` with
  /// ranges) is the kernel's pipapo set: one element holds its first and last key, and the set
  /// names each part's length; as `nft --debug=netlink` shows for the same map.
  @Test func concatenatedIntervalKeysHoldFirstAndLastKey() throws {
    let map = NamedMap(name: "filtered", key: [.transportProtocol, .service, .ipv4Address, .service],
                       data: [.ipv4Address, .service], intervalKey: true, timeout: true, elements: [
                         MapElement(.concatenation([.symbol("tcp"), .integer(50000), .prefix(.ipv4(0xC633_6400), length: 24),
                                                    .integerRange(0, 65535)]),
                                    .concatenation([.address(.ipv4(0x0A00_0005)), .integer(8080)])),
                       ])
    let set = try #require(try Linearizer.linearize(Table(family: .inet, name: "t", maps: [map])).sets.first)
    #expect(set.flags == [.map, .interval, .timeout, .concatenation])
    #expect(set.concatenationFieldLengths == [1, 2, 4, 2] && set.keyLength == 16)
    let element = KernelElement(key: [6, 0, 0, 0, 0xc3, 0x50, 0, 0, 198, 51, 100, 0, 0, 0, 0, 0],
                                keyEnd: [6, 0, 0, 0, 0xc3, 0x50, 0, 0, 198, 51, 100, 255, 0xff, 0xff, 0, 0],
                                data: [10, 0, 0, 5, 0x1f, 0x90, 0, 0])
    #expect(set.elements == [element])
    var alone = element
    alone.timeout = 60_000
    #expect(try Linearizer.element(map.elements[0], of: map, timeout: 60_000) == alone, "one element, changed alone")
  }

  /// `iifname . ip daddr . meta l4proto . th dport @fold_1`, a folded rule's question before
  /// its counter: the key fills registers as for the map lookup, the lookup has no
  /// destination, and the statements start from the first register again; as
  /// `nft --debug=netlink` shows for the same rule.
  @Test func aMapsKeysAreALookupWithoutDestination() throws {
    let key = Expression.concatenation([.selector(.meta(.iifname)), .selector(.payload(PayloadField(.ip, .daddr))),
                                        .selector(.meta(.l4proto)), .selector(.payload(PayloadField(.th, .dport)))])
    let map = NamedMap(name: "fold_1", key: [.interfaceName, .ipv4Address, .transportProtocol, .service],
                       data: [.ipv4Address, .service], elements: [])
    let rule = Rule(matches: [Match(.meta(.l4proto), .symbol("tcp")), Match(key, .keys(ofMap: "fold_1"))],
                    statements: [.setConntrackLabel(127),
                                 .nat(NATStatement(.dnat, family: .ip, address: .lookup(key: key, map: .named("fold_1"))))])
    let expressions = try linearize(rule, maps: [map]).rules[0].expressions
    let loadKey: [KernelExpression] = [
      .meta(key: 6, destination: 1), .payload(base: 1, offset: 16, length: 4, destination: 2),
      .meta(key: 16, destination: 13), .payload(base: 2, offset: 2, length: 2, destination: 14),
    ]
    #expect(Array(expressions[4..<9]) == loadKey + [.lookup(source: 1, set: "fold_1", setID: 1, destination: nil)])
    #expect(expressions[9] == .counter)
    #expect(expressions[10] == .immediate(destination: 1, data: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]))
    #expect(Array(expressions[12..<17]) == loadKey + [.lookup(source: 1, set: "fold_1", setID: 1, destination: 1)])
  }

  /// A map as large as a big file's fold is encoded on two threads, half each: its elements
  /// must come out in order and each as it would alone, and a bad entry in either half must
  /// still fail the whole.
  @Test(arguments: [0, 7_000])
  func largeMapsEncodeAsTheirElementsDoAlone(badEntry: Int) throws {
    var entries = (0..<10_000).map { index in
      MapElement(.address(.ipv4(0x0A00_0000 + UInt32(index))), .concatenation([.address(.ipv4(0xCB00_7100)), .integer(index)]))
    }
    let map = NamedMap(name: "fold_1", key: [.ipv4Address], data: [.ipv4Address, .service], elements: entries)
    let set = try #require(try Linearizer.linearize(Table(family: .inet, name: "t", maps: [map])).sets.first)
    #expect(set.elements == (try map.elements.map { entry in try Linearizer.element(entry, of: map) }))
    #expect(set.elements[9_999].key == [10, 0, 39, 15] && set.elements[9_999].data == [203, 0, 113, 0, 0x27, 0x0F, 0, 0])

    entries[badEntry] = MapElement(.symbol("nosuchsymbol"), .concatenation([.address(.ipv4(0xCB00_7100)), .integer(1)]))
    let broken = NamedMap(name: "fold_1", key: [.ipv4Address], data: [.ipv4Address, .service], elements: entries)
    #expect(throws: LinearizationError.self) { _ = try Linearizer.linearize(Table(family: .inet, name: "t", maps: [broken])) }
  }

  @Test func ruleCommentIsAUserdataTLV() throws {
    let rule = Rule(statements: [.verdict(.accept)], origin: Origin(file: "a.conf", line: 3, text: "map x"))
    let userdata = try linearize(rule).rules[0].userdata
    // The length counts the terminating NUL, as nft writes it.
    #expect(userdata == [0, 16] + Array("a.conf:3: map x".utf8) + [0])
  }

  @Test func timeoutPolicyFillsNFTDefaults() {
    let timeout = ConntrackTimeout(name: "t", transport: .udp, family: .inet,
                                   policy: [.init("replied", 60)])
    #expect(ConntrackTimeouts.array(for: timeout) == [30, 60])
  }
}
