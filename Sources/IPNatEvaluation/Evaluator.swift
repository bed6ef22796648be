import IPAddressing
import NFTModel

/// What Linux does to the first packet of a connection, worked out from the lowered ruleset
/// itself (the IR that `compile` prints and `load` loads, folded or not). The packet crosses
/// the router, as a forwarded packet does: `in on IF` arrives on IF and leaves by another
/// interface, `out on IF` arrives by another and leaves on IF. It meets the nat chains of
/// prerouting (where a destination is translated), then those of postrouting (a source), each
/// hook's in priority order, rule by rule, as the kernel's NAT core runs them — in each hook
/// the first NAT statement that fires makes the translation, `accept` or the end of a chain
/// leaves it to the next base chain. Both hooks matter: a `rewrite` translates in both, and a
/// hairpin's masquerade follows a redirection. Where the kernel chooses (`numgen`, an address or
/// port range), every choice is followed and the answer is the set of what may
/// happen, never one made-up value. The other interface's name is not known: a rule that
/// needs it gets a note, except that it is known not to be IF.
public struct Evaluator {
  public struct Options: Sendable {
    /// Interface addresses, for `masquerade` and `redirect` (`--address IF=ADDR`).
    public var interfaceAddresses: [String: IPAddress] = [:]
    /// The interface on the router's other side, when known: where an `in` packet leaves and
    /// an `out` packet comes from. Unknown, only "not the packet line's" is.
    public var otherInterface: String?
    public init() {}
  }

  /// An address the translation gives: one, a range the kernel picks from, or the primary
  /// address of an interface not given with `--address`.
  public enum AddressChoice: Sendable, Equatable, CustomStringConvertible {
    case exactly(IPAddress)
    case range(IPAddress, IPAddress)
    case interfaceAddress(String)

    public var description: String {
      switch self {
      case .exactly(let address): "\(address)"
      case .range(let low, let high): "\(low)-\(high)"
      case .interfaceAddress(let name): "(address of \(name))"
      }
    }
  }

  public struct EndpointChoice: Sendable, Equatable, CustomStringConvertible {
    public var address: AddressChoice
    /// Nil for a packet without ports.
    public var ports: ClosedRange<UInt16>?

    public var description: String {
      guard let ports else { return address.description }
      return "\(address)," + (ports.count == 1 ? "\(ports.lowerBound)" : "\(ports.lowerBound)-\(ports.upperBound)")
    }
  }

  /// One thing that may happen to the packet.
  public struct Outcome: Sendable, Equatable {
    /// The first rule whose NAT statement translated it; nil when nothing did.
    public var rule: Origin?
    /// The rule that translated it in postrouting as well, after `rule` did in prerouting: a
    /// `rewrite`'s source half, a hairpin's masquerade.
    public var secondRule: Origin?
    public var source: EndpointChoice
    public var destination: EndpointChoice
    /// When untranslated in the packet's own hook (prerouting for `in`, postrouting for
    /// `out`): the rule that stopped the search there (a `no` rule, `-> 0/0`), if any.
    public var stoppedBy: Origin?
    /// False when the packet begins no connection (an ICMP error or reply), so no nat chain
    /// saw it (`Packet.beginsConnection`).
    public var beginsConnection = true

    public var isTranslated: Bool { rule != nil }
  }

  public struct Evaluation: Sendable, Equatable {
    public var outcomes: [Outcome]
    /// What the evaluation could not tell (a rule that needs the packet's other interface).
    public var notes: [String]
  }

  let table: Table
  let options: Options

  public init(table: Table, options: Options = Options()) {
    self.table = table
    self.options = options
  }

  /// At most this many branches (combinations of `numgen` values) per packet.
  static let maximumBranches = 4096

  public func evaluate(_ packet: Packet) -> Evaluation {
    guard packet.beginsConnection else {
      let unchanged = Outcome(rule: nil, secondRule: nil, source: Run.choice(packet.source),
                              destination: Run.choice(packet.destination), stoppedBy: nil, beginsConnection: false)
      return Evaluation(outcomes: [unchanged], notes: [])
    }
    var outcomes: [Outcome] = []
    var notes: [String] = []
    for first in stage(.prerouting, packet, after: nil, notes: &notes) {
      for second in stage(.postrouting, packet, after: first, notes: &notes) {
        let outcome = Outcome(
          // A `rewrite` translates in both hooks: it is named once.
          rule: first.rule ?? second.rule, secondRule: first.rule == nil || second.rule == first.rule ? nil : second.rule,
          source: second.source, destination: first.destination,
          stoppedBy: packet.direction == .incoming ? first.stoppedBy : second.stoppedBy)
        if !outcomes.contains(outcome) { outcomes.append(outcome) }
      }
    }
    return Evaluation(outcomes: outcomes, notes: notes)
  }

  /// The outcomes of one hook, every `numgen` choice followed; `after` is what
  /// prerouting did, for postrouting.
  private func stage(_ hook: BaseChain.Hook, _ packet: Packet, after: Outcome?, notes: inout [String]) -> [Outcome] {
    var pending: [[Selector: UInt64]] = [[:]]
    var outcomes: [Outcome] = []
    var branches = 0
    // First in, first out: the choices come out in order of their values.
    while branches < pending.count {
      let choices = pending[branches]
      branches += 1
      guard branches <= Self.maximumBranches else {
        notes.append("more than \(Self.maximumBranches) choices of numgen values: the answer is incomplete")
        break
      }
      var run = Run(evaluator: self, hook: hook, packet: packet, after: after, choices: choices)
      do {
        let outcome = try run.hook()
        if !outcomes.contains(outcome) { outcomes.append(outcome) }
      } catch let needed as Run.NeedsChoice {
        // Past the limit the answer is incomplete anyway: no more choices than can be followed.
        for value in 0..<UInt64(min(Int(needed.modulus), max(0, Self.maximumBranches + 1 - pending.count))) {
          var more = choices
          more[needed.selector] = value
          pending.append(more)
        }
      } catch {
        if !notes.contains("\(error)") { notes.append("\(error)") }
      }
      for note in run.notes where !notes.contains(note) { notes.append(note) }
    }
    return outcomes
  }
}

/// One pass over the hook with fixed `numgen` values.
struct Run {
  struct NeedsChoice: Error {
    var selector: Selector
    var modulus: UInt32
  }

  struct Unsupported: Error, CustomStringConvertible {
    var description: String
  }

  /// A value the packet line does not give.
  struct Unknown: Error, CustomStringConvertible {
    var what: String
    var description: String { "a rule needs \(what), which the packet line does not give" }
  }

  let evaluator: Evaluator
  let hookPoint: BaseChain.Hook
  /// The packet as the packet line gives it: conntrack's original tuple.
  let original: Packet
  /// The packet as this hook sees it: in postrouting, with prerouting's destination.
  let packet: Packet
  /// False in postrouting when prerouting chose among destinations: the packet's destination
  /// is one of them, and a rule that reads it gets a note.
  let destinationKnown: Bool
  /// Whether prerouting translated the destination (conntrack's `dnat` status).
  let destinationTranslated: Bool
  let choices: [Selector: UInt64]
  var packetMark: UInt64 = 0
  var notes: [String] = []

  init(evaluator: Evaluator, hook: BaseChain.Hook, packet: Packet, after: Evaluator.Outcome?, choices: [Selector: UInt64]) {
    self.evaluator = evaluator
    self.hookPoint = hook
    self.original = packet
    self.choices = choices
    var seen = packet
    var known = true
    if let destination = after?.destination {
      if case .exactly(let address) = destination.address, destination.ports.map({ $0.count == 1 }) ?? true {
        seen.destination = Endpoint(address, port: destination.ports?.lowerBound ?? packet.destination.port)
      } else {
        known = false
      }
    }
    (self.packet, destinationKnown) = (seen, known)
    destinationTranslated = after?.isTranslated ?? false
  }

  /// Where a chain's run ended.
  enum Flow {
    /// Off its end, or `return`: the caller goes on.
    case fellThrough
    /// `accept`: this base chain is done, untranslated.
    case accepted(Origin?)
    case translated(Evaluator.Outcome)
  }

  var unchanged: Evaluator.Outcome {
    Evaluator.Outcome(rule: nil, source: Self.choice(packet.source), destination: Self.choice(packet.destination))
  }

  static func choice(_ endpoint: Endpoint) -> Evaluator.EndpointChoice {
    Evaluator.EndpointChoice(address: .exactly(endpoint.address), ports: endpoint.port.map { $0...$0 })
  }

  mutating func hook() throws -> Evaluator.Outcome {
    let chains = evaluator.table.chains.filter { $0.base?.kind == .nat && $0.base?.hook == hookPoint }
      .sorted { $0.base!.priority.value < $1.base!.priority.value }
    var stoppedBy: Origin?
    for chain in chains {
      switch try run(chain, depth: 0) {
      case .translated(let outcome): return outcome
      case .accepted(let origin): stoppedBy = stoppedBy ?? origin
      case .fellThrough: break
      }
    }
    var outcome = unchanged
    outcome.stoppedBy = stoppedBy
    return outcome
  }

  mutating func run(_ chain: Chain, depth: Int) throws -> Flow {
    guard depth < 16 else { throw Unsupported(description: "chains jump more than 16 deep") }
    rules: for rule in chain.rules {
      guard try matches(rule) else { continue }
      for statement in rule.statements {
        switch statement {
        case .nat(let nat):
          do {
            return .translated(try translate(nat, by: rule.origin))
          } catch is MissingElement {
            // The kernel's lookup finds nothing: the rule ends there, and the next one runs.
            continue rules
          }
        case .setMark(let scope, let value):
          // A later rule may match `meta mark`; no selector reads the connection's mark.
          if scope == .packet { packetMark = UInt64(value) }
        case .setConntrackHelper, .setConntrackTimeout, .setMaximumSegmentSize, .setConntrackLabel:
          continue
        case .updateSet:
          // A dynamic set starts empty: a packet is answered as a client seen for the first time,
          // whose target is one of those a returning client could have been given.
          continue
        case .verdict(let verdict):
          if let flow = try follow(verdict, origin: rule.origin, depth: depth) { return flow }
        case .verdictMap(let key, let entries):
          let value = try values(of: key)
          guard let entry = try entries.first(where: { try contains($0.key, value, for: key) }) else { continue }
          if let flow = try follow(entry.verdict, origin: rule.origin, depth: depth) { return flow }
        }
      }
    }
    return .fellThrough
  }

  /// Nil: the rule goes on (a jump that came back).
  mutating func follow(_ verdict: Verdict, origin: Origin?, depth: Int) throws -> Flow? {
    switch verdict {
    case .accept: return .accepted(origin)
    case .return: return .fellThrough
    case .jump(let name), .goto(let name):
      guard let target = evaluator.table.chains.first(where: { $0.name == name }) else {
        throw Unsupported(description: "a jump to a chain the table lacks: \(name)")
      }
      let flow = try run(target, depth: depth + 1)
      if case .fellThrough = flow, case .jump = verdict { return nil }
      return flow
    }
  }

  // MARK: - Matching

  mutating func matches(_ rule: Rule) throws -> Bool {
    for match in rule.matches {
      do {
        if try !holds(match, try values(of: match.left)) { return false }
      } catch let unknown as Unknown {
        // A value the packet line does not give (the other interface's name).
        let note = "\(rule.origin.map { "\($0.file):\($0.line)" } ?? "a rule") needs \(unknown.what), which the packet line does not give: taken as not matching"
        if !notes.contains(note) { notes.append(note) }
        return false
      }
    }
    return true
  }

  func holds(_ match: Match, _ value: [Value]) throws -> Bool {
    // A field the packet lacks fails nft's implicit protocol check, whatever the operator.
    if value.contains(.absent) { return false }
    switch match.op {
    case .implicit, .equal: return try contains(match.right, value, for: match.left)
    case .notEqual: return try !contains(match.right, value, for: match.left)
    case .less, .greater, .lessOrEqual, .greaterOrEqual:
      guard value.count == 1, case .integer(let left) = value[0], let right = integer(match.right, for: match.left) else {
        throw Run.Unsupported(description: "a comparison \(match.op.rawValue) of \(match.left)")
      }
      switch match.op {
      case .less: return left < right
      case .greater: return left > right
      case .lessOrEqual: return left <= right
      default: return left >= right
      }
    }
  }
}
