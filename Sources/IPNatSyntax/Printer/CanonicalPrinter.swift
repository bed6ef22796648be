/// Prints rules in IPFilter's canonical form, the way `ipnat -l` (and `ipnat -nv`) lists them
/// (`lib/printnat.c` and its helpers). The form records how IPFilter understood each rule:
/// addresses masked, `age N` as `age N/N`, names as numbers, the protocol an rdr rule got by
/// default, and so on (`lib/printnat.c`). Printing a printed rule again gives the same
/// text.
public enum CanonicalPrinter {
  /// One line for a rule, without a newline.
  public static func print(_ rule: Rule) -> String {
    written(rule).text
  }

  /// Appends the rule's line, without a newline, to UTF-8 `bytes`.
  public static func write(_ rule: Rule, to bytes: inout [UInt8]) {
    written(rule).withBytes { bytes.append(contentsOf: $0) }
  }

  private static func written(_ rule: Rule) -> UTF8Writer {
    var writer = RuleWriter(family: rule.family)
    writer.write(rule)
    return writer.finish()
  }

  /// Every rule of a configuration, one per line.
  public static func print(_ config: Config) -> String {
    var text = ""
    for rule in config.rules {
      text += print(rule)
      text += "\n"
    }
    return text
  }
}

/// Writes a rule's line as UTF-8 bytes: lowering prints every rule (the canonical form is each
/// rule's identity, for the duplicate check and the listing), and writing bytes costs a
/// fraction of appending `String` pieces.
private struct RuleWriter: ~Copyable {
  let family: IPFamily
  /// Most lines fit in the room made at first.
  private var bytes = UTF8Writer(capacity: 128)

  init(family: IPFamily) { self.family = family }

  /// The line written.
  consuming func finish() -> UTF8Writer { bytes }

  mutating func write(_ rule: Rule) {
    switch rule {
    case .map(let map): write(map.value)
    case .mapBlock(let mapBlock): write(mapBlock.value)
    case .rdr(let rdr): write(rdr.value)
    case .rewrite(let rewrite): write(rewrite.value)
    case .divert(let divert): write(divert.value)
    case .no(let no): write(no.value)
    }
  }

  // MARK: - Rules

  mutating func write(_ rule: MapRule) {
    emit(text: rule.kind.rawValue)
    emit(" ")
    writeInterfaces(rule.interfaces)
    var protocolPrinted = false
    switch rule.source {
    case .address(let address):
      write(address)
    case .fromTo(let fromTo):
      if case .icmpIDMap = rule.translation {
        // icmpidmap overwrites IPFilter's rule flags, from/to included: only the source is left.
        write(fromTo.source.address)
      } else {
        write(fromTo, ports: rule.ruleProtocol.carriesPorts)
      }
    }
    emit(" -> ")
    switch rule.target {
    case .address(let address): write(address)
    case .range(let low, let high, _):
      emit("range ")
      writeRange(low.address, high.address)
    }
    switch rule.translation {
    case .proxy(let proxy):
      emit(" proxy port ")
      emit(proxy.port.number)
      emit(" ")
      emitName(proxy.label.value)
      emit("/")
      emit(text: name(of: proxy.protocolClause.spec))
      protocolPrinted = true
    case .portmap(let portmap):
      switch portmap.ports {
      case .auto:
        emit(" portmap ")
        emit(text: name(of: rule.ruleProtocol))
        emit(" auto")
      case .range(let range) where range.lowNumber != 0 || range.highNumber != 0:
        emit(" portmap ")
        emit(text: name(of: rule.ruleProtocol))
        emit(" ")
        writePair(range.lowNumber, ":", range.highNumber)
      case .range:
        break  // IPFilter keeps no portmap for 0:0 and prints none.
      }
      if portmap.sequential != nil { emit(" sequential") }
      protocolPrinted = true
    case .icmpIDMap(let map):
      emit(" icmpidmap icmp ")
      writePair(map.ids.lowNumber, ":", map.ids.highNumber)
      if map.sequential != nil { emit(" sequential") }
      protocolPrinted = true
    case nil:
      break
    }
    writeMapOptions(rule.options)
    if !protocolPrinted, rule.ruleProtocol != .any {
      emit(" ")
      emit(text: name(of: rule.ruleProtocol))
    }
    if rule.options.purge != nil { emit(" purge") }
  }

  mutating func write(_ rule: MapBlockRule) {
    emit("map-block ")
    writeInterfaces(rule.interfaces)
    write(rule.source)
    emit(" -> ")
    write(rule.target)
    switch rule.ports {
    case .auto: emit(" ports auto")
    case .count(let count):
      emit(" ports ")
      // IPFilter's setnatproto(ICMP) zeroes the port count of a map-block.
      emit(rule.ruleProtocol == .number(1) ? 0 : count.value)
    case nil: emit(" ports 0")
    }
    writeMapOptions(rule.options)
    if rule.ruleProtocol != .any {
      emit(" ")
      emit(text: name(of: rule.ruleProtocol))
    }
    if rule.options.purge != nil { emit(" purge") }
  }

  mutating func write(_ rule: RdrRule) {
    emit("rdr ")
    writeInterfaces(rule.interfaces)
    let ports = rule.ports
    let carriesPorts = rule.ruleProtocol.carriesPorts
    switch rule.match {
    case .address(let address, _):
      write(address)
      if carriesPorts { writePortRange(ports.matchLow, ports.matchHigh) }
    case .fromTo(let fromTo):
      write(fromTo, ports: carriesPorts)
    }
    emit(" -> ")
    var isSplit = false
    switch rule.target {
    case .address(let address): write(address)
    case .split(let first, let second):
      emit(first.address)
      emit(",")
      emit(second.address)
      isSplit = true
    case .range(let low, let high, _): writeRange(low.address, high.address)
    }
    if carriesPorts {
      if ports.isFixed {
        emit(" port = ")
        emit(ports.targetLow)
      } else {
        writePortRange(ports.targetLow, ports.targetHigh)
      }
    }
    emit(" ")
    emit(text: name(of: rule.ruleProtocol))
    let options = rule.options
    if options.roundRobin != nil { emit(" round-robin") }
    if options.frag != nil { emit(" frag") }
    writeAge(options.age)
    // IPFilter drops `sticky` (with a warning) unless the rule rotates or splits.
    if options.sticky != nil, options.roundRobin != nil || isSplit { emit(" sticky") }
    writeMSSClamp(options.mssclamp)
    switch rule.proxy {
    case .label(let label):
      emit(" proxy ")
      emitName(label.value)
    case .clause(let clause):
      emit(" proxy ")
      emitName(clause.label.value)
    case nil: break
    }
    writeTag(options.tag)
    if options.purge != nil { emit(" purge") }
  }

  mutating func write(_ rule: RewriteRule) {
    emit("rewrite ")
    emit(text: rule.direction.value.rawValue)
    emit(" on ")
    writeInterfaces(rule.interfaces)
    if rule.ruleProtocol != .any {
      emit("proto ")
      emit(text: name(of: rule.ruleProtocol))
      emit(" ")
    }
    write(rule.match, ports: rule.ruleProtocol.carriesPorts)
    emit(" -> src ")
    write(rule.source, carriesPorts: rule.ruleProtocol.carriesPorts)
    emit(" dst ")
    write(rule.destination, carriesPorts: rule.ruleProtocol.carriesPorts)
    if rule.purge != nil { emit(" purge") }
    emit(";")
  }

  mutating func write(_ rule: DivertRule) {
    emit("divert ")
    emit(text: rule.direction.value.rawValue)
    emit(" on ")
    writeInterfaces(rule.interfaces)
    let written = RuleProtocol(rule.protocolClause?.spec)
    // IPFilter gives `divert in` without a protocol the TCP default of rdr rules, then clears
    // the rule's TCP flag: the printed protocol is what remains.
    switch (rule.direction.value, written) {
    case (.in, .any): emit("proto tcp ")
    case (_, .tcpUDP): emit("proto udp ")
    case (_, .any): break
    default:
      emit("proto ")
      emit(text: name(of: written))
      emit(" ")
    }
    write(rule.match, ports: written.carriesPorts || (rule.direction.value == .in && written == .any))
    emit(" -> src ")
    write(rule.source)
    emit(",")
    emit(rule.sourcePort.number)
    emit(" dst ")
    write(rule.destination)
    emit(",")
    emit(rule.destinationPort.number)
    emit(" udp")
    if rule.purge != nil { emit(" purge") }
    emit(";")
  }

  mutating func write(_ rule: NoRule) {
    emit("no ")
    emit(text: rule.kind.rawValue)
    emit(" ")
    writeInterfaces(rule.interfaces)
    switch rule.match {
    case .address(let address, let ports):
      write(address)
      if rule.kind == .rdr, rule.ruleProtocol.carriesPorts {
        let low = ports?.lowNumber ?? 0
        writePortRange(low, ports.map { $0.highNumber == 0 ? low : $0.highNumber } ?? 0)
      }
    case .fromTo(let fromTo):
      write(fromTo, ports: rule.ruleProtocol.carriesPorts)
    }
    emit(" ")
    emit(text: name(of: rule.ruleProtocol))
    emit(";")
  }

  // MARK: - Pieces

  /// `IF[,IF2] [inet6 ]`, the second interface only when it differs.
  private mutating func writeInterfaces(_ interfaces: Interfaces) {
    emitName(interfaces.first.name)
    if let second = interfaces.second, second.name != interfaces.first.name {
      emit(",")
      emitName(second.name)
    }
    emit(family == .inet6 ? " inet6 " : " ")
  }

  private mutating func writeMapOptions(_ options: RuleOptions) {
    if options.frag != nil { emit(" frag") }
    writeAge(options.age)
    writeMSSClamp(options.mssclamp)
    writeTag(options.tag)
  }

  private mutating func writeAge(_ age: Age?) {
    guard let age, age.forward != 0 || age.reverse != 0 else { return }
    emit(" age ")
    writePair(age.forward, "/", age.reverse)
  }

  private mutating func writeMSSClamp(_ mssclamp: Located<UInt32>?) {
    guard let mssclamp, mssclamp.value != 0 else { return }
    emit(" mssclamp ")
    emit(mssclamp.value)
  }

  private mutating func writeTag(_ tag: Located<String>?) {
    guard let tag else { return }
    emit(" tag ")
    emitName(tag.value)
  }

  private mutating func writePortRange(_ low: UInt16, _ high: UInt16) {
    emit(" port ")
    emit(low)
    if high != low {
      emit("-")
      emit(high)
    }
  }

  /// `A-B`
  private mutating func writeRange(_ low: IPAddress, _ high: IPAddress) {
    emit(low)
    emit("-")
    emit(high)
  }

  /// `LOW:HIGH`, `FORWARD/REVERSE`
  private mutating func writePair(_ first: some BinaryInteger, _ separator: StaticString, _ second: some BinaryInteger) {
    emit(first)
    emit(separator)
    emit(second)
  }

  /// `[! ]from SRC[ port …][ !] to DST[ port …]`
  private mutating func write(_ fromTo: FromTo, ports: Bool) {
    if fromTo.negation == .source { emit("! ") }
    emit("from ")
    write(fromTo.source.address)
    if ports, let test = fromTo.source.port { write(test) }
    if fromTo.negation == .destination { emit(" !") }
    emit(" to ")
    write(fromTo.destination.address)
    if ports, let test = fromTo.destination.port { write(test) }
  }

  private mutating func write(_ test: PortTest) {
    emit(" port ")
    switch test.kind {
    case .compare(let comparison, let port):
      emit(text: comparison.rawValue)
      emit(" ")
      emit(port.number)
    case .range(.inclusive, let low, let high):
      writePair(low.number, ":", high.number)
    case .range(let op, let low, let high):
      emit(low.number)
      emit(" ")
      emit(text: op.rawValue)
      emit(" ")
      emit(high.number)
    }
  }

  private mutating func write(_ target: RewriteRule.Target, carriesPorts: Bool) {
    switch target.addresses {
    case .address(let address): write(address)
    case .range(let low, let high, _): writeRange(low.address, high.address)
    case .lookup(let lookup): write(lookup)
    }
    guard carriesPorts else { return }
    switch target.ports {
    case .fixed(let port) where port.number != 0:
      emit(",port = ")
      emit(port.number)
    case .range(let range) where range.lowNumber != 0:
      emit(",")
      emit(range.lowNumber)
      if range.highNumber != range.lowNumber {
        emit("-")
        emit(range.highNumber)
      }
    default: break
    }
  }

  private mutating func write(_ address: Address) {
    switch address.kind {
    case .any: emit(family == .inet ? "0/0" : "any")
    case .network(let network): write(network)
    case .lookup(let lookup): write(lookup)
    }
  }

  private mutating func write(_ lookup: LookupReference) {
    emit(text: lookup.kind.rawValue)
    emit("/")
    switch lookup.name {
    case .number(let number): emit(number)
    case .name(let name): emitName(name)
    }
  }

  /// IPv4: `A/N`, `0/N` for address zero, a dotted mask when it is not contiguous.
  /// IPv6: compressed text, `any` for `::/0`.
  private mutating func write(_ network: Network) {
    switch family {
    case .inet:
      if network.address.bits == 0 { emit("0") } else { emit(network.address) }
    case .inet6:
      if network.address.bits == 0 && network.maskBits == 0 { return emit("any") }
      emit(network.address)
    }
    emit("/")
    if let length = network.prefixLength {
      emit(length)
    } else if family == .inet {
      bytes.write(ipv4: UInt32(network.maskBits))
    } else {
      emit(text: IPAddress.formatIPv6(network.maskBits))
    }
  }

  // MARK: - Bytes

  private mutating func emit(_ literal: StaticString) {
    bytes.write(literal)
  }

  private mutating func emit(text: String) { bytes.write(text) }

  private mutating func emit(_ address: IPAddress) {
    bytes.write(address)
  }

  /// Decimal, as `String(number)` writes it.
  private mutating func emit(_ number: some BinaryInteger) {
    if number < 0 { bytes.write(byte: UInt8(ascii: "-")) }
    bytes.write(decimal: UInt64(number.magnitude))
  }

  /// A name as a word that lexes back to itself, quoted when it would not (IPFilter prints
  /// the interface `-` as `"-"`; other names it prints bare, even when they would not re-parse).
  private mutating func emitName(_ name: String) {
    guard NameQuoting.needsQuotes(name) else { return emit(text: name) }
    bytes.write(byte: UInt8(ascii: "\""))
    for byte in name.utf8 {
      // Both are ASCII, and no byte of a multi-byte UTF-8 sequence is.
      if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { bytes.write(byte: UInt8(ascii: "\\")) }
      bytes.write(byte: byte)
    }
    bytes.write(byte: UInt8(ascii: "\""))
  }

  // MARK: - Names

  private func name(of ruleProtocol: RuleProtocol) -> String {
    switch ruleProtocol {
    case .any: "ip"
    case .tcp: "tcp"
    case .udp: "udp"
    case .tcpUDP: "tcp/udp"
    case .number(let number): ProtocolTable.name(of: number) ?? String(number)
    }
  }

  private func name(of spec: ProtocolSpec) -> String { name(of: RuleProtocol(spec)) }
}

enum NameQuoting {
  private static let safeCharacters = ByteSet("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.*+%~^&?|[]-".utf8)

  /// Every rule prints an interface name or two: its bytes are read once, in place, and the
  /// keyword table asked only about a word that could be one.
  static func needsQuotes(_ name: String) -> Bool {
    var name = name
    return name.withUTF8(needsQuotes)
  }

  private static func needsQuotes(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let first = name.first else { return true }
    if first == UInt8(ascii: "-") || first == UInt8(ascii: ".") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) {
      return true
    }
    var previous: UInt8 = 0
    var onlyKeywordBytes = true
    for byte in name {
      // `->` would end the word; any other unsafe byte (a colon among them: a word of hex digits
      // and colons would lex as an IPv6 address) needs quotes too.
      if previous == UInt8(ascii: "-") && byte == UInt8(ascii: ">") { return true }
      if !safeCharacters.contains(byte) && byte < 0x80 { return true }
      if !keywordBytes.contains(byte) { onlyKeywordBytes = false }
      previous = byte
    }
    return onlyKeywordBytes && Keyword(spelling: name) != nil
  }

  /// What keywords are spelled with, in either case.
  private static let keywordBytes = ByteSet("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-".utf8)
}
