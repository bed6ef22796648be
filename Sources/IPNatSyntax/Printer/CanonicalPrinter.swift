/// Prints rules in IPFilter's canonical form, the way `ipnat -l` (and `ipnat -nv`) lists them
/// (`lib/printnat.c` and its helpers). The form records how IPFilter understood each rule:
/// addresses masked, `age N` as `age N/N`, names as numbers, the protocol an rdr rule got by
/// default, and so on (`lib/printnat.c`). Printing a printed rule again gives the same
/// text.
public enum CanonicalPrinter {
  /// One line for a rule, without a newline.
  public static func print(_ rule: Rule) -> String {
    var writer = RuleWriter(family: rule.family)
    switch rule {
    case .map(let map): writer.write(map)
    case .mapBlock(let mapBlock): writer.write(mapBlock)
    case .rdr(let rdr): writer.write(rdr)
    case .rewrite(let rewrite): writer.write(rewrite)
    case .divert(let divert): writer.write(divert)
    case .no(let no): writer.write(no)
    }
    return writer.text
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

private struct RuleWriter {
  let family: IPFamily
  var text = ""

  init(family: IPFamily) { self.family = family }

  // MARK: - Rules

  mutating func write(_ rule: MapRule) {
    text += rule.kind.rawValue + " "
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
    text += " -> "
    switch rule.target {
    case .address(let address): write(address)
    case .range(let low, let high, _): text += "range \(low.address)-\(high.address)"
    }
    switch rule.translation {
    case .proxy(let proxy):
      text += " proxy port \(proxy.port.number) \(quoted(proxy.label.value))/\(name(of: proxy.protocolClause.spec))"
      protocolPrinted = true
    case .portmap(let portmap):
      switch portmap.ports {
      case .auto:
        text += " portmap \(name(of: rule.ruleProtocol)) auto"
      case .range(let range) where range.lowNumber != 0 || range.highNumber != 0:
        text += " portmap \(name(of: rule.ruleProtocol)) \(range.lowNumber):\(range.highNumber)"
      case .range:
        break  // IPFilter keeps no portmap for 0:0 and prints none.
      }
      if portmap.sequential != nil { text += " sequential" }
      protocolPrinted = true
    case .icmpIDMap(let map):
      text += " icmpidmap icmp \(map.ids.lowNumber):\(map.ids.highNumber)"
      if map.sequential != nil { text += " sequential" }
      protocolPrinted = true
    case nil:
      break
    }
    writeMapOptions(rule.options)
    if !protocolPrinted, rule.ruleProtocol != .any { text += " " + name(of: rule.ruleProtocol) }
    if rule.options.purge != nil { text += " purge" }
  }

  mutating func write(_ rule: MapBlockRule) {
    text += "map-block "
    writeInterfaces(rule.interfaces)
    write(rule.source)
    text += " -> "
    write(rule.target)
    switch rule.ports {
    case .auto: text += " ports auto"
    // IPFilter's setnatproto(ICMP) zeroes the port count of a map-block.
    case .count(let count): text += " ports \(rule.ruleProtocol == .number(1) ? 0 : count.value)"
    case nil: text += " ports 0"
    }
    writeMapOptions(rule.options)
    if rule.ruleProtocol != .any { text += " " + name(of: rule.ruleProtocol) }
    if rule.options.purge != nil { text += " purge" }
  }

  mutating func write(_ rule: RdrRule) {
    text += "rdr "
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
    text += " -> "
    var isSplit = false
    switch rule.target {
    case .address(let address): write(address)
    case .split(let first, let second):
      text += "\(first.address),\(second.address)"
      isSplit = true
    case .range(let low, let high, _): text += "\(low.address)-\(high.address)"
    }
    if carriesPorts {
      if ports.isFixed {
        text += " port = \(ports.targetLow)"
      } else {
        writePortRange(ports.targetLow, ports.targetHigh)
      }
    }
    text += " " + name(of: rule.ruleProtocol)
    let options = rule.options
    if options.roundRobin != nil { text += " round-robin" }
    if options.frag != nil { text += " frag" }
    writeAge(options.age)
    // IPFilter drops `sticky` (with a warning) unless the rule rotates or splits.
    if options.sticky != nil, options.roundRobin != nil || isSplit { text += " sticky" }
    if let mssclamp = options.mssclamp, mssclamp.value != 0 { text += " mssclamp \(mssclamp.value)" }
    switch rule.proxy {
    case .label(let label): text += " proxy \(quoted(label.value))"
    case .clause(let clause): text += " proxy \(quoted(clause.label.value))"
    case nil: break
    }
    if let tag = options.tag { text += " tag \(quoted(tag.value))" }
    if options.purge != nil { text += " purge" }
  }

  mutating func write(_ rule: RewriteRule) {
    text += "rewrite \(rule.direction.value.rawValue) on "
    writeInterfaces(rule.interfaces)
    if rule.ruleProtocol != .any { text += "proto \(name(of: rule.ruleProtocol)) " }
    write(rule.match, ports: rule.ruleProtocol.carriesPorts)
    text += " -> src "
    write(rule.source, carriesPorts: rule.ruleProtocol.carriesPorts)
    text += " dst "
    write(rule.destination, carriesPorts: rule.ruleProtocol.carriesPorts)
    if rule.purge != nil { text += " purge" }
    text += ";"
  }

  mutating func write(_ rule: DivertRule) {
    text += "divert \(rule.direction.value.rawValue) on "
    writeInterfaces(rule.interfaces)
    let written = RuleProtocol(rule.protocolClause?.spec)
    // IPFilter gives `divert in` without a protocol the TCP default of rdr rules, then clears
    // the rule's TCP flag: the printed protocol is what remains.
    switch (rule.direction.value, written) {
    case (.in, .any): text += "proto tcp "
    case (_, .tcpUDP): text += "proto udp "
    case (_, .any): break
    default: text += "proto \(name(of: written)) "
    }
    write(rule.match, ports: written.carriesPorts || (rule.direction.value == .in && written == .any))
    text += " -> src "
    write(rule.source)
    text += ",\(rule.sourcePort.number) dst "
    write(rule.destination)
    text += ",\(rule.destinationPort.number) udp"
    if rule.purge != nil { text += " purge" }
    text += ";"
  }

  mutating func write(_ rule: NoRule) {
    text += "no \(rule.kind.rawValue) "
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
    text += " \(name(of: rule.ruleProtocol));"
  }

  // MARK: - Pieces

  /// `IF[,IF2] [inet6 ]`, the second interface only when it differs.
  private mutating func writeInterfaces(_ interfaces: Interfaces) {
    text += quoted(interfaces.first.name)
    if let second = interfaces.second, second.name != interfaces.first.name {
      text += "," + quoted(second.name)
    }
    text += family == .inet6 ? " inet6 " : " "
  }

  private mutating func writeMapOptions(_ options: RuleOptions) {
    if options.frag != nil { text += " frag" }
    writeAge(options.age)
    if let mssclamp = options.mssclamp, mssclamp.value != 0 { text += " mssclamp \(mssclamp.value)" }
    if let tag = options.tag { text += " tag \(quoted(tag.value))" }
  }

  private mutating func writeAge(_ age: Age?) {
    guard let age, age.forward != 0 || age.reverse != 0 else { return }
    text += " age \(age.forward)/\(age.reverse)"
  }

  private mutating func writePortRange(_ low: UInt16, _ high: UInt16) {
    text += " port \(low)"
    if high != low { text += "-\(high)" }
  }

  /// `[! ]from SRC[ port …][ !] to DST[ port …]`
  private mutating func write(_ fromTo: FromTo, ports: Bool) {
    if fromTo.negation == .source { text += "! " }
    text += "from "
    write(fromTo.source.address)
    if ports, let test = fromTo.source.port { write(test) }
    if fromTo.negation == .destination { text += " !" }
    text += " to "
    write(fromTo.destination.address)
    if ports, let test = fromTo.destination.port { write(test) }
  }

  private mutating func write(_ test: PortTest) {
    switch test.kind {
    case .compare(let comparison, let port): text += " port \(comparison.rawValue) \(port.number)"
    case .range(.inclusive, let low, let high): text += " port \(low.number):\(high.number)"
    case .range(let op, let low, let high): text += " port \(low.number) \(op.rawValue) \(high.number)"
    }
  }

  private mutating func write(_ target: RewriteRule.Target, carriesPorts: Bool) {
    switch target.addresses {
    case .address(let address): write(address)
    case .range(let low, let high, _): text += "\(low.address)-\(high.address)"
    case .lookup(let lookup): write(lookup)
    }
    guard carriesPorts else { return }
    switch target.ports {
    case .fixed(let port) where port.number != 0: text += ",port = \(port.number)"
    case .range(let range) where range.lowNumber != 0:
      text += ",\(range.lowNumber)"
      if range.highNumber != range.lowNumber { text += "-\(range.highNumber)" }
    default: break
    }
  }

  private mutating func write(_ address: Address) {
    switch address.kind {
    case .any: text += family == .inet ? "0/0" : "any"
    case .network(let network): write(network)
    case .lookup(let lookup): write(lookup)
    }
  }

  private mutating func write(_ lookup: LookupReference) {
    switch lookup.name {
    case .number(let number): text += "\(lookup.kind.rawValue)/\(number)"
    case .name(let name): text += "\(lookup.kind.rawValue)/\(quoted(name))"
    }
  }

  /// IPv4: `A/N`, `0/N` for address zero, a dotted mask when it is not contiguous.
  /// IPv6: compressed text, `any` for `::/0`.
  private mutating func write(_ network: Network) {
    let mask = network.prefixLength.map(String.init)
      ?? (family == .inet ? IPAddress.formatIPv4(UInt32(network.maskBits)) : IPAddress.formatIPv6(network.maskBits))
    switch family {
    case .inet:
      text += (network.address.bits == 0 ? "0" : network.address.description) + "/" + mask
    case .inet6:
      text += network.address.bits == 0 && network.maskBits == 0 ? "any" : "\(network.address)/\(mask)"
    }
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

  /// A name as a word that lexes back to itself, quoted when it would not (IPFilter prints
  /// the interface `-` as `"-"`; other names it prints bare, even when they would not re-parse).
  private func quoted(_ name: String) -> String {
    guard NameQuoting.needsQuotes(name) else { return name }
    var escaped = ""
    for character in name {
      if character == "\\" || character == "\"" { escaped.append("\\") }
      escaped.append(character)
    }
    return "\"\(escaped)\""
  }
}

enum NameQuoting {
  private static let safeCharacters = ByteSet("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.*+%~^&?|[]-".utf8)

  /// Every rule prints an interface name or two: the bytes are read once, and the keyword table
  /// asked only about a word that could be one.
  static func needsQuotes(_ name: String) -> Bool {
    guard let first = name.utf8.first else { return true }
    if first == UInt8(ascii: "-") || first == UInt8(ascii: ".") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) {
      return true
    }
    var previous: UInt8 = 0
    var onlyKeywordBytes = true
    for byte in name.utf8 {
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
