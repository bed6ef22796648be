import Foundation
import IPAddressing
import IPNatDiagnostics
import IPNatEvaluation
import IPNatKit
import NFTModel
import TestSupport
import Testing

/// `ipnat test` against the kernel on the configurations users read and the compiler's golden
/// cases, as they are: the router's outside interface takes the configuration's name (`ppp0`,
/// `eth0`), the hosts take on whatever addresses the packets need, and the packets are drawn
/// from the ruleset's own values — its networks, ranges and ports — so they reach its rules.
/// Each packet is a connection of its own, sent through a router loaded with the ruleset folded
/// and then unfolded; what the far side sees must be one of the evaluator's outcomes.
@Suite(.serialized, .enabled(if: Lab.isAvailable, "needs root, iproute2, nft and python3"))
struct ConfigurationDifferentialTests {
  static let root = directory() + "/../.."

  /// Every Sample and every golden case that compiles to rules, relative to the repository, and
  /// real configurations less their refused rules (`RealConfiguration`): by default the two
  /// richest, the 253-rule Firewall Builder file and the deployed gateways;
  /// `IPNAT_DIFFERENTIAL_REAL=all` takes every one (some two minutes more).
  /// `IPNAT_DIFFERENTIAL_ONLY=NAME` keeps those whose path contains NAME, to study one.
  static let configurations: [String] = (["Samples", "Tests/IPNatLoweringTests/Golden"]
    .flatMap { folder in files(in: "\(root)/\(folder)", endingWith: ".conf").map { "\(folder)/\($0)" } }
    + realConfigurations.map { "\(realFolder)/\($0)" })
    .filter { path in ProcessInfo.processInfo.environment["IPNAT_DIFFERENTIAL_ONLY"].map(path.contains) ?? true }
    .filter { lowered(text(of: $0) ?? "", folded: false)?.chains.contains { !$0.rules.isEmpty } == true }

  static let realFolder = "Tests/IPNatLoweringTests/RealConfigurations"
  static let realConfigurations = ProcessInfo.processInfo.environment["IPNAT_DIFFERENTIAL_REAL"] == "all"
    ? RealConfiguration.names : ["deployed-zone-setups.conf", "fwbuilder-firewall2-nat.conf"]

  /// The configuration at `path`, relative to the repository: a real configuration without the
  /// rules ipnat refuses, as its administrator would load it; any other file as it is.
  static func text(of path: String) -> String? {
    path.hasPrefix(realFolder + "/")
      ? RealConfiguration(String(path.dropFirst(realFolder.count + 1)))?.validRules : readFile("\(root)/\(path)")
  }

  static func lowered(_ text: String, folded: Bool) -> Table? {
    var lowering = LoweringOptions()
    lowering.foldThreshold = folded ? 2 : nil
    return IPNat.lower(SourceFile(name: "lab.conf", text: text), options: FrontendOptions(resolveHostNames: false), lowering: lowering).table
  }

  @Test func thereAreConfigurationsToTest() {
    let count = Self.configurations.count
    #expect(count >= 30 || ProcessInfo.processInfo.environment["IPNAT_DIFFERENTIAL_ONLY"] != nil, "\(Self.configurations)")
  }

  @Test(arguments: configurations)
  func packetsAreTranslatedAsTheEvaluatorSays(_ path: String) throws {
    let text = try #require(Self.text(of: path))
    let name = URL(fileURLWithPath: path).lastPathComponent
    let tables = try [true, false].map { try #require(Self.lowered(text, folded: $0)) }
    let values = RulesetValues(tables[1])
    let wan = values.mostUsedInterface ?? "rwan"
    var generator = SplitMix64(seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
    var options = Evaluator.Options()
    options.otherInterface = "rlan"
    var plan = TrafficPlan(wan: wan, evaluators: tables.map { Evaluator(table: $0, options: options) })
    // Up to 600 drawn until 200 can be sent: a ruleset of the lab's own addresses refuses many.
    for index in 0..<600 where plan.trials.count < 2 * 200 {
      plan.consider(draw(values, using: &generator), number: UInt16(index))
    }
    // Plain values in the expectations: Swift Testing would describe the plan, rulesets and all.
    let sendable = plan.trials.count / 2
    #expect(sendable >= 100, "\(name): only \(sendable) packets could be sent (\(plan.refusals))")

    let lab = try Lab(wan: wan)
    defer { lab.close() }
    try lab.hold(inside: plan.inside.map(\.description), outside: plan.outside.map(\.description),
                 routedOut: plan.routedOut.map(\.description))
    for (namespace, ports) in [(lab.inside, plan.insidePorts), (lab.outside, plan.outsidePorts)] {
      if !ports.isEmpty {
        try lab.start(namespace, ["serve-any"] + ports.sorted().map(String.init) + ["--ready", lab.logPath("ready-\(namespace)")])
        lab.waitForLog("ready-\(namespace)")
      }
      try lab.start(namespace, ["sniff-echo", lab.logPath("echo-\(namespace)")])
      lab.waitForLog("echo-\(namespace)")
    }
    var answered = 0
    for folded in [true, false] {
      var lowering = LoweringOptions()
      lowering.foldThreshold = folded ? 2 : nil
      try lab.load(text, lowering: lowering)
      let trials = plan.trials.filter { $0.folded == folded }
      for direction in [Packet.Direction.outgoing, .incoming] {
        let sent = trials.filter { $0.packet.direction == direction }
        for (trial, observation) in try observe(sent, in: lab, from: direction == .outgoing ? lab.inside : lab.outside) {
          if observation != nil { answered += 1 }
          let agrees = plan.agrees(trial, with: observation)
          #expect(agrees, """
            \(name) \(folded ? "folded" : "unfolded"): \(trial.packet): the kernel gave \(observation.map { "\($0)" } ?? "nothing"), \
            the evaluator \(trial.outcomes.map { "\($0.source) \($0.destination)" })
            """)
        }
      }
    }
    // Agreement already asks an answer of every packet that must get one; this guards against
    // a plan in which few must.
    let sent = plan.trials.count
    #expect(answered >= sent / 5, "\(name): \(answered) of \(sent) connections were answered")
  }

  /// Sends the trials from `sender` — TCP and UDP as connections the far side's servers answer,
  /// ICMP messages the far side's sniffer logs — and pairs each with what the far side saw.
  func observe(_ trials: [TrafficPlan.Trial], in lab: Lab, from sender: String) throws -> [(TrafficPlan.Trial, Observation?)] {
    let streams = trials.filter(\.packet.hasPorts)
    let echoes = trials.filter { !$0.packet.hasPorts }
    var observed: [(TrafficPlan.Trial, Observation?)] = []
    if !streams.isEmpty {
      // Servers are listening before anything is sent, and the lab's round trips take well under
      // a millisecond: a short wait for what never comes keeps 27 labs quick.
      let lines = try lab.probe(sender, ["batch", "--wait", "0.3"] + streams.map(\.probeItem))
      let (answers, connections) = (lines.count, streams.count)
      #expect(answers == connections)
      observed += zip(streams, lines).map { ($0, Answer($1).map(Observation.init)) }
    }
    if !echoes.isEmpty {
      _ = try lab.probe(sender, ["echo"] + echoes.map(\.echoItem))
      usleep(200_000)
      var seen: [String: Observation] = [:]
      for line in lab.log("echo-\(lab.inside)") + lab.log("echo-\(lab.outside)") {
        guard let (token, observation) = Observation.echo(line), seen[token] == nil else { continue }
        seen[token] = observation
      }
      observed += echoes.map { ($0, seen["\($0.number)"]) }
    }
    return observed
  }

  /// A packet of the ruleset's values: outbound from an inside source to a server, or inbound
  /// from an outside client to an address the ruleset names (or the router's); UDP, TCP, or an
  /// ICMP or ICMPv6 message (an echo request, mostly). Its source port is set per run, so that
  /// each connection is new to conntrack.
  func draw(_ values: RulesetValues, using generator: inout SplitMix64) -> Packet {
    let family: IPFamily = values.addresses[.inet6] != nil && (values.addresses[.inet] == nil || generator.next(below: 3) == 0)
      ? .inet6 : .inet
    let outbound = generator.next(below: 2) == 0
    let stranger = IPAddress(family: family, bits: family == .inet
      ? 0xC612_0000 | UInt128(generator.next(below: 0x1_FFFF) + 1) : (0x2001_0db8_0099 << 80) | UInt128(generator.next(below: 0xFFFF) + 1))
    func ruleset(_ chance: Int, or fallback: IPAddress) -> IPAddress {
      generator.next(below: 10) < chance ? values.drawAddress(family, using: &generator) ?? fallback : fallback
    }
    let source = outbound ? ruleset(8, or: Self.labAddress(family == .inet ? "10.0.0.5" : "fd00:10::5")) : ruleset(4, or: stranger)
    let destination = outbound ? ruleset(6, or: stranger) : ruleset(7, or: Self.labAddress(family == .inet ? "192.0.2.1" : "2001:db8:2::1"))
    let direction: Packet.Direction = outbound ? .outgoing : .incoming
    let kind = generator.next(below: 6)
    if kind == 0 {
      // Mostly echo requests; also a reply, an error and a timestamp request, which Linux
      // translates as new connections only when they are requests.
      let types: [UInt8] = family == .inet ? [8, 8, 8, 0, 3, 11, 13] : [128, 128, 128, 129, 1, 3]
      return Packet(direction: direction, interface: "", protocolNumber: family == .inet ? 1 : 58, source: Endpoint(source),
                    destination: Endpoint(destination), icmpType: types[generator.next(below: types.count)])
    }
    return Packet(direction: direction, interface: "", protocolNumber: kind < 3 ? 6 : 17,
                  source: Endpoint(source, port: 0), destination: Endpoint(destination, port: values.drawPort(using: &generator)))
  }

  static func labAddress(_ text: String) -> IPAddress {
    IPAddress.parse(text)!
  }
}

/// What the far side saw of a packet: its source and destination, with ports for TCP and UDP.
struct Observation: CustomStringConvertible {
  var source: IPAddress
  var sourcePort: Int?
  var destination: IPAddress
  var destinationPort: Int?

  init(_ answer: Answer) {
    source = ConfigurationDifferentialTests.labAddress(answer.peerAddress)
    sourcePort = answer.peerPort
    destination = ConfigurationDifferentialTests.labAddress(answer.localAddress)
    destinationPort = answer.localPort
  }

  init(source: IPAddress, destination: IPAddress) {
    (self.source, self.destination) = (source, destination)
  }

  /// `echo token=T from=S to=D`, as the sniffer logs a message of `echo`.
  static func echo(_ line: String) -> (String, Observation)? {
    let fields = Dictionary(line.split(separator: " ").dropFirst().compactMap { field -> (String, String)? in
      let parts = field.split(separator: "=", maxSplits: 1)
      return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
    }, uniquingKeysWith: { first, _ in first })
    guard line.hasPrefix("echo "), let token = fields["token"], let from = fields["from"].flatMap(IPAddress.parse),
          let to = fields["to"].flatMap(IPAddress.parse) else { return nil }
    return (token, Observation(source: from, destination: to))
  }

  var description: String {
    "\(source)\(sourcePort.map { ",\($0)" } ?? "") \(destination)\(destinationPort.map { ",\($0)" } ?? "")"
  }
}

/// The packets one lab sends, and what its hosts must hold for each to be observed: every
/// address a packet comes from or may be delivered to on the right host, none on the wrong
/// one, and a server on every port it may arrive at. A packet that cannot be observed that
/// way (it would be delivered to the router itself, or to more places than a host can hold) is
/// left out and counted.
struct TrafficPlan {
  struct Trial {
    var packet: Packet
    var folded: Bool
    var outcomes: [Evaluator.Outcome]
    /// The connection's number: its source port, or an echo request's id and token.
    var number: UInt16

    var echoItem: String {
      "\(packet.source.address),\(number),\(packet.destination.address),\(number),\(packet.icmpType ?? 8)"
    }

    var probeItem: String {
      [packet.protocolNumber == 6 ? "tcp" : "udp", "\(packet.source.address)", "\(packet.source.port!)",
       "\(packet.destination.address)", "\(packet.destination.port!)"].joined(separator: ",")
    }
  }

  let wan: String
  let evaluators: [Evaluator]
  private(set) var trials: [Trial] = []
  private(set) var inside: Set<IPAddress> = []
  private(set) var outside: Set<IPAddress> = []
  /// Where outbound packets were going: the router routes them out of the WAN, as a packet
  /// line `out on WAN` says, though a rule may send the packet elsewhere.
  private(set) var routedOut: Set<IPAddress> = []
  private(set) var insidePorts: Set<UInt16> = []
  private(set) var outsidePorts: Set<UInt16> = []
  /// Ranges of addresses a host must not hold: a translated source the far side answers
  /// through the router.
  private var notInside: [ClosedRange<IPAddress>] = []
  private var notOutside: [ClosedRange<IPAddress>] = []
  private(set) var refusals: [String: Int] = [:]

  static let routerAddresses = Set(Lab.routerAddresses.map(ConfigurationDifferentialTests.labAddress))
  static let fixedInside = Set(Lab.insideAddresses.map(ConfigurationDifferentialTests.labAddress))
  static let fixedOutside = Set(Lab.outsideAddresses.map(ConfigurationDifferentialTests.labAddress))
  /// Servers per host at most: each port is four sockets.
  static let maximumPorts = 150
  /// The clients' source ports: 20000 on for the folded ruleset, 40000 on for the unfolded
  /// one. No server may listen on them: a client could not bind its port.
  static let clientPorts = Set((20000..<20600).map(UInt16.init) + (40000..<40600).map(UInt16.init))

  init(wan: String, evaluators: [Evaluator]) {
    self.wan = wan
    self.evaluators = evaluators
    (inside, outside) = (Self.fixedInside, Self.fixedOutside)
  }

  /// Adds the packet, once for each ruleset (folded from source port 20000, unfolded from
  /// 40000), if both can be observed; otherwise counts why not.
  mutating func consider(_ drawn: Packet, number: UInt16) {
    var candidate = self
    var added: [Trial] = []
    for (index, (folded, evaluator)) in zip([true, false], evaluators).enumerated() {
      var packet = drawn
      packet.interface = wan
      let connection = UInt16(20000 + 20000 * index) + number
      if packet.hasPorts { packet.source.port = connection }
      if let refusal = candidate.arrange(packet, evaluator) { return refusals[refusal, default: 0] += 1 }
      added.append(Trial(packet: packet, folded: folded, outcomes: evaluator.evaluate(packet).outcomes, number: connection))
    }
    self = candidate
    trials += added
  }

  /// Gives the hosts what `packet` needs, or says why it cannot be observed.
  private mutating func arrange(_ packet: Packet, _ evaluator: Evaluator) -> String? {
    let evaluation = evaluator.evaluate(packet)
    guard evaluation.notes.isEmpty else { return "the evaluator cannot tell" }
    let outbound = packet.direction == .outgoing
    guard packet.source.address.canBeHeldByAHost, packet.destination.address.canBeHeldByAHost else { return "a special address" }
    var delivered: [(addresses: [IPAddress], ports: [UInt16])] = []
    for outcome in evaluation.outcomes {
      guard outcome.isTranslated else {
        // Inbound and untranslated, it is for the router (or nobody): the inside need not hold it.
        if outbound { delivered.append(([packet.destination.address], packet.destination.port.map { [$0] } ?? [])) }
        continue
      }
      let ports = outcome.destination.ports.map(Array.init) ?? []
      guard let addresses = outcome.destination.address.enumerated, ports.count <= 16 else {
        return "delivered to the router or to too many places"
      }
      delivered.append((addresses, ports))
      if outcome.source.address != .exactly(packet.source.address) {
        guard let range = range(of: outcome.source.address, family: packet.family) else { return "translated to an unknown address" }
        if outbound { notOutside.append(range) } else { notInside.append(range) }
      }
    }
    // The sender must not hold the destination itself, or the packet never leaves it.
    let destination = packet.destination.address
    if outbound { notInside.append(destination...destination) } else { notOutside.append(destination...destination) }
    if !outbound, evaluation.outcomes.contains(where: { !$0.isTranslated }), let port = packet.destination.port {
      insidePorts.insert(port)
    }
    if outbound { inside.insert(packet.source.address) } else { outside.insert(packet.source.address) }
    if outbound { routedOut.insert(destination) }
    for (addresses, ports) in delivered where outbound {
      outside.formUnion(addresses)
      outsidePorts.formUnion(ports)
    }
    for (addresses, ports) in delivered where !outbound {
      inside.formUnion(addresses)
      insidePorts.formUnion(ports)
    }
    guard insidePorts.count <= Self.maximumPorts, outsidePorts.count <= Self.maximumPorts else { return "too many server ports" }
    guard !insidePorts.union(outsidePorts).contains(where: Self.clientPorts.contains) else { return "a server port among the clients'" }
    return conflict()
  }

  /// Why the hosts cannot hold what they must, or nil.
  private func conflict() -> String? {
    if !inside.isDisjoint(with: outside) { return "an address both hosts must hold" }
    if !inside.isDisjoint(with: routedOut) { return "an outbound packet's destination the inside holds" }
    if !inside.isDisjoint(with: Self.routerAddresses) || !outside.isDisjoint(with: Self.routerAddresses) {
      return "an address of the router"
    }
    if notInside.contains(where: { range in inside.contains { range.contains($0) } })
      || notOutside.contains(where: { range in outside.contains { range.contains($0) } }) {
      return "a translated address the far host holds"
    }
    return nil
  }

  /// Whether what the far side saw (or that it saw nothing) is one of the outcomes.
  func agrees(_ trial: Trial, with seen: Observation?) -> Bool {
    let packet = trial.packet
    guard let seen else {
      // Only an inbound packet left untranslated goes to no server: to the router, or nowhere.
      return packet.direction == .incoming && !inside.contains(packet.destination.address)
        && trial.outcomes.contains { !$0.isTranslated }
    }
    return trial.outcomes.contains { outcome in
      guard outcome.isTranslated else {
        return seen.source == packet.source.address && seen.sourcePort == packet.source.port.map(Int.init)
          && seen.destination == packet.destination.address && seen.destinationPort == packet.destination.port.map(Int.init)
      }
      return contains(outcome.source, seen.source, seen.sourcePort) && contains(outcome.destination, seen.destination, seen.destinationPort)
    }
  }

  /// Whether an address and port (none for ICMP) are among a choice's.
  private func contains(_ choice: Evaluator.EndpointChoice, _ address: IPAddress, _ port: Int?) -> Bool {
    let addressFits = range(of: choice.address, family: address.family)?.contains(address) ?? false
    guard let port, let ports = choice.ports else { return addressFits }
    return addressFits && ports.contains(UInt16(port))
  }

  /// The addresses a choice stands for in this lab: an interface's address is the router's.
  private func range(of choice: Evaluator.AddressChoice, family: IPFamily) -> ClosedRange<IPAddress>? {
    switch choice {
    case .exactly(let address): return address...address
    case .range(let low, let high): return low...high
    case .interfaceAddress(let name):
      let text = switch (name == wan, family) {
      case (true, .inet): "192.0.2.1"
      case (true, .inet6): "2001:db8:2::1"
      case (false, .inet): "10.0.0.1"
      case (false, .inet6): "fd00:10::1"
      }
      return ConfigurationDifferentialTests.labAddress(text)...ConfigurationDifferentialTests.labAddress(text)
    }
  }
}

extension Evaluator.AddressChoice {
  /// The addresses, when they are few enough for a host to hold them all.
  var enumerated: [IPAddress]? {
    switch self {
    case .exactly(let address): [address]
    case .range(let low, let high) where high.bits - low.bits < 16:
      (0...(high.bits - low.bits)).map { IPAddress(family: low.family, bits: low.bits + $0) }
    default: nil
    }
  }

}
