import IPAddressing
import JSONText
import NFTModel

/// Prints tables as libnftables JSON (`nft -j -f`), the same transaction as ``ScriptEmitter``:
/// add the table, delete it, add it again with everything in it. Object shapes follow what
/// `nft -j list` prints (nft 1.0.6), so a listing and a compiled file can be compared.
///
/// - Important: nft 1.0.6's JSON parser cannot declare a map whose data is a concatenation
///   (`ipv4_addr . inet_service`, as rdr port maps and map-block use): it answers "set is not
///   a map", where the same map in the script syntax loads. ``capabilities`` says so, and the
///   lowering chooses another form, or refuses, when it is given them.
public enum JSONEmitter {
  /// What a JSON document can declare for nft 1.0.6 to read back.
  public static let capabilities = OutputCapabilities(concatenatedMapData: false)

  /// Each command is written as soon as it is made: a large table's document is never also
  /// whole as values. The table is consumed, and each map let go once written, when the caller
  /// gives up its copy.
  public static func document(replacing table: consuming Table) -> String {
    // JSON spells out what the script abbreviates: about seven times its size.
    var document = DocumentWriter(capacity: ScriptEmitter.estimatedSize(of: table) * 7)
    // The maps leave the table before the context copies it, so that each can go once written.
    var maps = table.maps
    table.maps = []
    let tableObject = JSONValue.object([("family", .string(table.family.rawValue)), ("name", .string(table.name))])
    document.write(.object([("add", .object([("table", tableObject)]))]))
    document.write(.object([("delete", .object([("table", tableObject)]))]))
    document.write(.object([("add", .object([("table", tableObject)]))]))
    let context = JSONContext(table: copy table)
    for object in table.objects { document.write(add(context.object(object))) }
    maps.drain { document.write(add(context.map($0))) }
    if !table.ruleTexts.isEmpty { document.write(add(context.ruleTexts(table.ruleTexts))) }
    for chain in table.chains { document.write(add(context.chain(chain))) }
    for chain in table.chains {
      for rule in chain.rules { document.write(add(context.rule(rule, in: chain))) }
    }
    return document.finished()
  }

  /// `{"nftables": [` the commands, one per line `]}`.
  private struct DocumentWriter {
    private var text = "{\"nftables\": [\n  "
    private var isFirst = true

    /// `capacity`: about the document's size, so that its room is made once.
    init(capacity: Int) { text.reserveCapacity(capacity) }

    mutating func write(_ command: JSONValue) {
      if !isFirst { text += ",\n  " }
      isFirst = false
      command.write(to: &text)
    }

    /// The document, closed in place: the text is not copied.
    consuming func finished() -> String {
      text += "\n]}\n"
      return text
    }
  }

  private static func add(_ object: (String, JSONValue)) -> JSONValue {
    .object([("add", .object([object]))])
  }
}

/// Builds the JSON of one table's parts.
struct JSONContext {
  let table: Table

  private var owner: [(String, JSONValue)] {
    [("family", .string(table.family.rawValue)), ("table", .string(table.name))]
  }

  func object(_ object: StatefulObject) -> (String, JSONValue) {
    switch object {
    case .conntrackHelper(let helper):
      ("ct helper", .object(owner + [
        ("name", .string(helper.name)), ("type", .string(helper.type)),
        ("protocol", .string(helper.transport.rawValue)), ("l3proto", .string(helper.family.rawValue)),
      ]))
    case .conntrackTimeout(let timeout):
      ("ct timeout", .object(owner + [
        ("name", .string(timeout.name)), ("protocol", .string(timeout.transport.rawValue)),
        ("l3proto", .string(timeout.family.rawValue)),
        ("policy", .object(timeout.policy.map { ($0.state, .integer($0.seconds)) })),
      ]))
    }
  }

  func map(_ map: NamedMap) -> (String, JSONValue) {
    var members = owner + [("name", .string(map.name))]
    members.append(("type", types(map.key)))
    if !map.isSet { members.append(("map", types(map.data))) }
    // nft 1.0.6's JSON has no word for `dynamic`; it marks a set so itself when a rule updates it.
    let flags = map.flagNames.filter { $0 != "dynamic" }
    if !flags.isEmpty { members.append(("flags", .array(flags.map(JSONValue.string)))) }
    if let seconds = map.defaultTimeout { members.append(("timeout", .integer(seconds))) }
    if !map.elements.isEmpty {
      members.append(("elem", .array(map.elements.map { .array([value($0.key), value($0.value)]) })))
    }
    return (map.isSet ? "set" : "map", .object(members))
  }

  /// The `rule_texts` set: each piece an element with a comment.
  func ruleTexts(_ texts: [RuleText]) -> (String, JSONValue) {
    let elements = texts.flatMap(\.pieces).map { piece -> JSONValue in
      .object([("elem", .object([("val", .integer(piece.key)), ("comment", .string(piece.comment))]))])
    }
    return ("set", .object(owner + [("name", .string(RuleText.setName)), ("type", .string("mark")),
                                    ("elem", .array(elements))]))
  }

  private func types(_ types: [DataType]) -> JSONValue {
    types.count == 1 ? .string(types[0].rawValue) : .array(types.map { .string($0.rawValue) })
  }

  func chain(_ chain: Chain) -> (String, JSONValue) {
    var members = owner + [("name", .string(chain.name))]
    if let base = chain.base {
      members += [("type", .string(base.kind.rawValue)), ("hook", .string(base.hook.rawValue)),
                  ("prio", .integer(base.priority.value)), ("policy", .string("accept"))]
    }
    return ("chain", .object(members))
  }

  func rule(_ rule: Rule, in chain: Chain) -> (String, JSONValue) {
    var expressions = rule.matches.map(match)
    if rule.counter { expressions.append(.object([("counter", .object([("packets", .integer(0)), ("bytes", .integer(0))]))])) }
    expressions += rule.statements.map(statement)
    var members = owner + [("chain", .string(chain.name))]
    if let origin = rule.origin {
      members.append(("comment", .string(origin.comment)))
    }
    members.append(("expr", .array(expressions)))
    return ("rule", .object(members))
  }

  // MARK: - Expressions

  func match(_ match: Match) -> JSONValue {
    // An implicit match on a bit set (`ct status dnat`) tests membership, which JSON spells "in".
    let op = match.op != .implicit ? match.op.rawValue : match.left == .selector(.conntrack(.status)) ? "in" : "=="
    return .object([("match", .object([("op", .string(op)), ("left", value(match.left)), ("right", value(match.right))]))])
  }

  func statement(_ statement: Statement) -> JSONValue {
    switch statement {
    case .nat(let nat): natStatement(nat)
    case .setConntrackHelper(let name): .object([("ct helper", .string(name))])
    case .setConntrackTimeout(let name): .object([("ct timeout", .string(name))])
    case .setMaximumSegmentSize(let size):
      .object([("mangle", .object([("key", selector(.tcpMaxSegmentSize)), ("value", .integer(size))]))])
    case .setMark(let scope, let value):
      .object([("mangle", .object([("key", .object([(scope.rawValue, .object([("key", .string("mark"))]))])),
                                   ("value", .integer(value))]))])
    case .setConntrackLabel(let bit):
      .object([("mangle", .object([("key", .object([("ct", .object([("key", .string("label"))]))])), ("value", .integer(bit))]))])
    case .verdict(let target): verdict(target)
    case .updateSet(let name, let key):
      .object([("set", .object([("op", .string("update")), ("elem", value(key)), ("set", .string("@" + name))]))])
    case .verdictMap(let key, let entries):
      .object([("vmap", .object([
        ("key", value(key)),
        ("data", .object([("set", .array(entries.map { .array([value($0.key), verdict($0.verdict)]) }))])),
      ]))])
    }
  }

  private func natStatement(_ nat: NATStatement) -> JSONValue {
    var members: [(String, JSONValue)] = []
    if let family = nat.family { members.append(("family", .string(family.rawValue))) }
    if let address = nat.address { members.append(("addr", value(address))) }
    if let port = nat.port { members.append(("port", value(port))) }
    var flags = nat.flags.map(\.rawValue)
    if nat.mapsPrefix { flags.append("netmap") }
    if !flags.isEmpty { members.append(("flags", flags.count == 1 ? .string(flags[0]) : .array(flags.map(JSONValue.string)))) }
    if nat.mapsPrefix { members.append(("type_flags", .string("prefix"))) }
    return .object([(nat.kind.rawValue, .object(members))])
  }

  private func verdict(_ verdict: Verdict) -> JSONValue {
    switch verdict {
    case .accept: .object([("accept", .null)])
    case .return: .object([("return", .null)])
    case .jump(let chain): .object([("jump", .object([("target", .string(chain))]))])
    case .goto(let chain): .object([("goto", .object([("target", .string(chain))]))])
    }
  }

  func value(_ expression: Expression) -> JSONValue {
    switch expression {
    case .selector(let selector): self.selector(selector)
    case .address(let address): .string(address.description)
    case .prefix(let address, let length):
      .object([("prefix", .object([("addr", .string(address.description)), ("len", .integer(length))]))])
    case .addressRange(let low, let high): .object([("range", .array([.string(low.description), .string(high.description)]))])
    case .integer(let number): .number(Int64(number))
    case .integerRange(let low, let high): .object([("range", .array([.number(Int64(low)), .number(Int64(high))]))])
    case .string(let text), .symbol(let text): .string(text)
    case .set(let members): .object([("set", .array(members.map(value)))])
    case .concatenation(let parts): .object([("concat", .array(parts.map(value)))])
    case .bitwiseAnd(let left, let right): .object([("&", .array([value(left), value(right)]))])
    case .bitwiseOr(let parts): .array(parts.map(value))
    case .lookup(let key, .named(let name)): .object([("map", .object([("key", value(key)), ("data", .string("@" + name))]))])
    case .keys(let name): .string("@" + name)
    case .lookup(let key, .inline(let elements)):
      .object([("map", .object([
        ("key", value(key)),
        ("data", .object([("set", .array(elements.map { .array([value($0.key), value($0.value)]) }))])),
      ]))])
    }
  }

  func selector(_ selector: Selector) -> JSONValue {
    switch selector {
    case .meta(let key): .object([("meta", .object([("key", .string(key.rawValue))]))])
    case .payload(let field):
      .object([("payload", .object([("protocol", .string(field.header.rawValue)), ("field", .string(field.field.rawValue))]))])
    case .conntrack(.originalSourceAddress(let family)):
      .object([("ct", .object([("key", .string("\(family.rawValue) saddr")), ("dir", .string("original"))]))])
    case .conntrack(.status):
      .object([("ct", .object([("key", .string("status"))]))])
    case .conntrack(.originalDestinationAddress(let family)):
      .object([("ct", .object([("key", .string("\(family.rawValue) daddr")), ("dir", .string("original"))]))])
    case .conntrack(.originalSourcePort):
      .object([("ct", .object([("key", .string("proto-src")), ("dir", .string("original"))]))])
    case .conntrack(.originalDestinationPort):
      .object([("ct", .object([("key", .string("proto-dst")), ("dir", .string("original"))]))])
    case .tcpMaxSegmentSize:
      .object([("tcp option", .object([("name", .string("maxseg")), ("field", .string("size"))]))])
    case .routeOutputName:
      .object([("fib", .object([("result", .string("oifname")), ("flags", .array([.string("daddr")]))]))])
    case .numgenIncrement(let modulus):
      .object([("numgen", .object([("mode", .string("inc")), ("mod", .integer(modulus)), ("offset", .integer(0))]))])
    }
  }
}
