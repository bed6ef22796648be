import IPAddressing
import NFTModel

/// Prints tables as an `nft -f` script that replaces them whole, in one transaction, and
/// touches nothing else:
///
/// ```
/// table inet ipnat
/// delete table inet ipnat
/// table inet ipnat { … }
/// ```
///
/// The first line creates the table if it is missing, so the delete never fails; nft 1.0.6 has
/// no `destroy`. Statements go one per line: some declarations fail on one line (nft 1.0.6).
public enum ScriptEmitter {
  /// The script syntax declares everything the IR holds.
  public static let capabilities = OutputCapabilities.full

  /// The table is only read, and its caller decides when it goes: `ipnat compile` never lets
  /// go of it (``IPNat``'s `Teardown`). The script is the larger of the two, so letting each
  /// map go once written would save little: 1.3 MiB of the peak at 100,000 rules.
  public static func script(replacing table: borrowing Table) -> String {
    var writer = ScriptWriter()
    writer.text.reserveCapacity(estimatedSize(of: table))
    writer.line("table \(table.family.rawValue) \(table.name)")
    writer.line("delete table \(table.family.rawValue) \(table.name)")
    writer.write(table)
    return writer.text
  }

  /// About the script's size, a little over for the usual table: room made once costs less
  /// than room that doubles as the script grows, and holds the old text beside the new.
  static func estimatedSize(of table: borrowing Table) -> Int {
    let elements = table.maps.reduce(0) { $0 + $1.elements.count }
    let rules = table.chains.reduce(0) { $0 + $1.rules.count }
    return 4096 + bytesPerElement * elements + 256 * rules + 160 * table.ruleTexts.count
  }

  /// About the most a map element takes in the script, with its separator.
  static let bytesPerElement = 64
}

struct ScriptWriter {
  var text = ""
  private var depth = 0

  mutating func line(_ content: String) {
    indent()
    text += content
    text += "\n"
  }

  private mutating func indent() {
    for _ in 0..<depth { text += "\t" }
  }

  private mutating func block(_ header: String, _ body: (inout ScriptWriter) -> Void) {
    line(header + " {")
    depth += 1
    body(&self)
    depth -= 1
    line("}")
  }

  mutating func write(_ table: borrowing Table) {
    block("table \(table.family.rawValue) \(table.name)") { writer in
      for object in table.objects { writer.write(object) }
      for map in table.maps { writer.write(map) }
      if !table.ruleTexts.isEmpty { writer.write(table.ruleTexts) }
      for chain in table.chains { writer.write(chain) }
    }
  }

  /// `set rule_texts { type mark; elements = { 0x00000100 comment "…", … } }`.
  private mutating func write(_ texts: [RuleText]) {
    block("set \(RuleText.setName)") { writer in
      writer.line("type mark")
      let separator = ",\n" + String(repeating: "\t", count: writer.depth) + "\t     "
      let elements = texts.flatMap(\.pieces).map { piece in
        "0x" + Self.hex(piece.key) + " comment \"\(piece.comment)\""
      }
      writer.line("elements = { " + elements.joined(separator: separator) + " }")
    }
  }

  private static func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
  }

  private mutating func write(_ object: StatefulObject) {
    switch object {
    case .conntrackHelper(let helper):
      block("ct helper \(helper.name)") { writer in
        writer.line("type \"\(helper.type)\" protocol \(helper.transport.rawValue)")
        writer.line("l3proto \(helper.family.rawValue)")
      }
    case .conntrackTimeout(let timeout):
      block("ct timeout \(timeout.name)") { writer in
        writer.line("protocol \(timeout.transport.rawValue)")
        writer.line("l3proto \(timeout.family.rawValue)")
        let policy = timeout.policy.map { "\($0.state) : \($0.seconds)" }.joined(separator: ", ")
        writer.line("policy = { \(policy) }")
      }
    }
  }

  private mutating func write(_ map: NamedMap) {
    block((map.isSet ? "set " : "map ") + map.name) { writer in
      let key = map.key.map(\.rawValue).joined(separator: " . ")
      let data = (map.intervalData ? "interval " : "") + map.data.map(\.rawValue).joined(separator: " . ")
      writer.line("type \(key)" + (map.isSet ? "" : " : \(data)"))
      if !map.flagNames.isEmpty { writer.line("flags " + map.flagNames.joined(separator: ",")) }
      if let seconds = map.defaultTimeout { writer.line("timeout \(seconds)s") }
      guard !map.elements.isEmpty else { return }
      // Written straight into the script: a map's elements make most of a large one.
      let separator = ",\n" + String(repeating: "\t", count: writer.depth) + "\t     "
      writer.indent()
      writer.text += "elements = { "
      Self.append(map.elements, separatedBy: separator, to: &writer.text)
      writer.text += " }\n"
    }
  }

  private mutating func write(_ chain: Chain) {
    block("chain \(chain.name)") { writer in
      if let base = chain.base {
        writer.line("type \(base.kind.rawValue) hook \(base.hook.rawValue) priority \(Self.format(base.priority)); policy accept;")
      }
      for rule in chain.rules { writer.line(Self.format(rule)) }
    }
  }

  // MARK: - Rules

  static func format(_ rule: Rule) -> String {
    var parts = rule.matches.map(format)
    if rule.counter { parts.append("counter") }
    parts += rule.statements.map(format)
    if let origin = rule.origin { parts.append("comment \"\(origin.comment)\"") }
    return parts.joined(separator: " ")
  }

  static func format(_ match: Match) -> String {
    let left = format(match.left)
    let right = format(match.right)
    return match.op == .implicit ? "\(left) \(right)" : "\(left) \(match.op.rawValue) \(right)"
  }

  static func format(_ statement: Statement) -> String {
    switch statement {
    case .nat(let nat): format(nat)
    case .setConntrackHelper(let name): "ct helper set \"\(name)\""
    case .setConntrackTimeout(let name): "ct timeout set \"\(name)\""
    case .setMaximumSegmentSize(let size): "tcp option maxseg size set \(size)"
    case .setMark(let scope, let value): "\(scope.rawValue) mark set \(value)"
    case .setConntrackLabel(let bit): "ct label set \(bit)"
    case .verdict(let verdict): format(verdict)
    case .updateSet(let name, let key): "update @\(name) { \(format(key)) }"
    case .verdictMap(let key, let entries):
      "\(format(key)) vmap { " + entries.map { "\(format($0.key)) : \(format($0.verdict))" }.joined(separator: ", ") + " }"
    }
  }

  static func format(_ verdict: Verdict) -> String {
    switch verdict {
    case .accept: "accept"
    case .return: "return"
    case .jump(let chain): "jump \(chain)"
    case .goto(let chain): "goto \(chain)"
    }
  }

  /// `snat ip to 203.0.113.1:1024-65535 persistent`, `masquerade to :10000-20000`,
  /// `dnat ip6 to [fd00::1]:8080`, `snat ip prefix to ip saddr map { … }`.
  static func format(_ nat: NATStatement) -> String {
    var text = nat.kind.rawValue
    if let family = nat.family { text += " \(family.rawValue)" }
    if nat.mapsPrefix { text += " prefix" }
    if nat.address != nil || nat.port != nil {
      text += " to "
      if let address = nat.address {
        let formatted = format(address)
        // An IPv6 address followed by a port needs brackets, or its colons are ambiguous.
        if nat.port != nil, case .address(let literal) = address, literal.family == .inet6 {
          text += "[\(formatted)]"
        } else {
          text += formatted
        }
      }
      if let port = nat.port { text += ":" + format(port) }
    }
    if !nat.flags.isEmpty { text += " " + nat.flags.map(\.rawValue).joined(separator: ",") }
    return text
  }

  // MARK: - Expressions

  static func format(_ expression: Expression) -> String {
    var text = ""
    append(expression, to: &text)
    return text
  }

  /// Writes into one text rather than returning pieces to join: a folded map has a hundred
  /// thousand elements, and each piece would be a string of its own.
  static func append(_ expression: Expression, to text: inout some ScriptText & ~Copyable) {
    switch expression {
    case .selector(let selector): text.write(string: format(selector))
    case .address(let address): text.write(address: address)
    case .prefix(let address, let length):
      text.write(address: address)
      text.write("/")
      text.write(decimal: UInt64(length))
    case .addressRange(let low, let high):
      text.write(address: low)
      text.write("-")
      text.write(address: high)
    case .integer(let value): text.write(decimal: value)
    case .integerRange(let low, let high):
      text.write(decimal: low)
      text.write("-")
      text.write(decimal: high)
    case .string(let value):
      text.write("\"")
      text.write(string: value)
      text.write("\"")
    case .symbol(let name): text.write(string: name)
    case .set(let members):
      text.write("{ ")
      append(members, separator: ", ", to: &text)
      text.write(" }")
    case .concatenation(let parts):
      for (index, part) in parts.enumerated() {
        if index > 0 { text.write(" . ") }
        // `oifname . (ip saddr & 255.255.0.0)`: without parentheses nft 1.0.6 cannot parse it.
        if case .bitwiseAnd = part {
          text.write("(")
          append(part, to: &text)
          text.write(")")
        } else {
          append(part, to: &text)
        }
      }
    case .bitwiseAnd(let value, let mask):
      append(value, to: &text)
      text.write(" & ")
      append(mask, to: &text)
    case .bitwiseOr(let parts):
      text.write("(")
      append(parts, separator: " | ", to: &text)
      text.write(")")
    case .lookup(let key, .named(let name)):
      append(key, to: &text)
      text.write(" map @")
      text.write(string: name)
    case .keys(let name):
      text.write("@")
      text.write(string: name)
    case .lookup(let key, .inline(let elements)):
      append(key, to: &text)
      text.write(" map { ")
      for (index, element) in elements.enumerated() {
        if index > 0 { text.write(", ") }
        append(element, to: &text)
      }
      text.write(" }")
    }
  }

  /// A map's elements, written as bytes (``ScriptBytes``). A large map's second half is written
  /// on a second thread, into text of its own, while the first goes into `text`: most of a
  /// large table's script is its maps.
  private static func append(_ elements: [MapElement], separatedBy separator: String, to text: inout String) {
    func write(_ part: ArraySlice<MapElement>, to text: inout String) {
      var bytes = ScriptBytes()
      for (index, element) in zip(part.indices, part) {
        if index > elements.startIndex { bytes.write(string: separator) }
        append(element, to: &bytes)
        bytes.flushWhenFull(into: &text)
      }
      bytes.flush(into: &text)
    }
    // Below a few thousand elements, a thread costs more than it saves.
    guard elements.count >= 8192 else { return write(elements[...], to: &text) }
    let middle = elements.count / 2
    var secondHalf = ""
    secondHalf.reserveCapacity(ScriptEmitter.bytesPerElement * (elements.count - middle))
    _ = TwoThreads.run(true) { half in
      if half == 0 { write(elements[..<middle], to: &text) } else { write(elements[middle...], to: &secondHalf) }
    }
    text += secondHalf
  }

  /// `key : value`.
  static func append(_ element: MapElement, to text: inout some ScriptText & ~Copyable) {
    append(element.key, to: &text)
    text.write(" : ")
    append(element.value, to: &text)
  }

  private static func append(_ expressions: [Expression], separator: StaticString, to text: inout some ScriptText & ~Copyable) {
    for (index, expression) in expressions.enumerated() {
      if index > 0 { text.write(separator) }
      append(expression, to: &text)
    }
  }

  static func format(_ selector: Selector) -> String {
    switch selector {
    case .meta(let key):
      switch key {
      case .iifname, .oifname: key.rawValue
      case .l4proto, .nfproto, .mark: "meta \(key.rawValue)"
      }
    case .payload(let field): "\(field.header.rawValue) \(field.field.rawValue)"
    case .conntrack(.originalSourceAddress(let family)): "ct original \(family.rawValue) saddr"
    case .conntrack(.originalDestinationAddress(let family)): "ct original \(family.rawValue) daddr"
    case .conntrack(.status): "ct status"
    case .conntrack(.originalSourcePort): "ct original proto-src"
    case .conntrack(.originalDestinationPort): "ct original proto-dst"
    case .tcpMaxSegmentSize: "tcp option maxseg size"
    case .routeOutputName: "fib daddr oifname"
    case .numgenIncrement(let modulus): "numgen inc mod \(modulus)"
    }
  }

  static func format(_ priority: Priority) -> String {
    switch priority {
    case .named(let name, 0): name.rawValue
    case .named(let name, let offset) where offset > 0: "\(name.rawValue) + \(offset)"
    case .named(let name, let offset): "\(name.rawValue) - \(-offset)"
    case .number(let number): String(number)
    }
  }
}
