import IPAddressing
import IPNatDiagnostics
import IPNatEvaluation
import IPNatKit
import NFTModel
import TestSupport
import Testing

/// `ipnat test` against the kernel: a router namespace loaded with a ruleset translates real
/// datagrams, the far side reports what it saw, and for every datagram that must be one of the
/// outcomes the evaluator gives for the same packet line on the same IR, folded and not. Each
/// datagram is a connection of its own (its own source port).
@Suite(.serialized, .enabled(if: Lab.isAvailable, "needs root, iproute2, nft and python3"))
struct EvaluationDifferentialTests {
  /// A configuration, the packets sent through it, and the servers that answer them.
  struct Case: CustomStringConvertible, Sendable {
    var name: String
    var conf: String
    var direction: Packet.Direction
    /// Addresses and ports the packets go to (outbound: from the inside hosts; inbound: from
    /// 192.0.2.2).
    var targets: [(String, UInt16)]
    /// Servers: `HOST:PORT` on the far side.
    var servers: [String]
    /// Whether some of the packets are TCP connections.
    var withTCP = false
    var description: String { name }
  }

  static let insideHosts = ["10.0.0.2", "10.0.0.3", "10.0.0.5", "10.0.0.6"]

  static let cases: [Case] = [
    // A host's own address, a pool with a port range for UDP, the interface address for the
    // rest, a host left untranslated (`-> 0/0`); IPFilter's search order decides among them.
    Case(name: "outbound maps", conf: """
      map rwan 10.0.0.2/32 -> 203.0.113.7/32
      map rwan 10.0.0.6/32 -> 0/0
      map rwan 10.0.0.0/24 -> 203.0.113.16/30 portmap udp 20000:20099
      map rwan 10.0.0.0/24 -> 0/32
      """, direction: .outgoing, targets: [("192.0.2.2", 7000)], servers: ["192.0.2.2:7000"]),
    Case(name: "map-block", conf: "map-block rwan 10.0.0.0/24 -> 203.0.113.0/30 ports auto\n", direction: .outgoing,
         targets: [("192.0.2.2", 7000)], servers: ["192.0.2.2:7000"]),
    Case(name: "pool", conf: "map rwan 10.0.0.0/24 -> 203.0.113.64/28\n", direction: .outgoing,
         targets: [("192.0.2.2", 7000)], servers: ["192.0.2.2:7000"]),
    // A port range shifted, round-robin over two servers, any address, a port no rule takes.
    Case(name: "inbound rdr", conf: """
      rdr rwan 192.0.2.1/32 port 8000-8009 -> 10.0.0.2 port 9000 udp
      rdr rwan 203.0.113.5/32 port 53 -> 10.0.0.3,10.0.0.5 port 5353 udp round-robin
      rdr rwan 0/0 port 7777 -> 10.0.0.6 port 7777 udp
      rdr rwan 0/0 port 7778 -> 10.0.0.6 port 7777 udp
      """, direction: .incoming,
         targets: (8000...8009).map { ("192.0.2.1", UInt16($0)) }
           + [("203.0.113.5", 53), ("192.0.2.1", 7777), ("203.0.113.9", 7778), ("192.0.2.1", 6666)],
         servers: (9000...9009).map { "10.0.0.2:\($0)" } + ["10.0.0.3:5353", "10.0.0.5:5353", "10.0.0.6:7777"]),
    Case(name: "bimap in", conf: "bimap rwan 10.0.0.5/32 -> 203.0.113.50/32\n", direction: .incoming,
         targets: [("203.0.113.50", 7000), ("203.0.113.51", 7000)], servers: ["10.0.0.5:7000"]),
    Case(name: "bimap out", conf: "bimap rwan 10.0.0.5/32 -> 203.0.113.50/32\n", direction: .outgoing,
         targets: [("192.0.2.2", 7000)], servers: ["192.0.2.2:7000"]),
  ]

  @Test(arguments: cases, [true, false])
  func datagramsAreTranslatedAsTheEvaluatorSays(_ test: Case, folded: Bool) throws {
    var generator = SplitMix64(seed: UInt64(test.name.utf8.count) * 2 + (folded ? 1 : 0))
    try compare(test, folded: folded, packets: Self.packets(for: test, count: 120, using: &generator))
  }

  /// Random configurations of the rule kinds above, in the lab's addresses, each with random
  /// connections (UDP, and a quarter TCP): six outbound and six inbound, folded and not.
  @Test(arguments: 1...12, [true, false])
  func randomConfigurationsAgreeWithTheKernel(_ seed: Int, folded: Bool) throws {
    var generator = SplitMix64(seed: UInt64(seed) * 7919)
    let test = seed <= 6 ? RandomConfiguration.outbound(&generator) : RandomConfiguration.inbound(&generator)
    try compare(test, folded: folded, packets: Self.packets(for: test, count: 80, using: &generator), minimumThrough: 4)
  }

  /// Connections to the case's targets, outbound from random inside hosts, inbound from the
  /// outside host, each from a port of its own; a quarter of them TCP where the case has TCP.
  static func packets(for test: Case, count: Int, using generator: inout SplitMix64) -> [Packet] {
    (0..<count).map { index in
      let (address, port) = test.targets[generator.next(below: test.targets.count)]
      let source = test.direction == .outgoing ? insideHosts[generator.next(below: 4)] : "192.0.2.2"
      let tcp = test.withTCP && generator.next(below: 4) == 0
      return Packet(direction: test.direction, interface: "rwan", protocolNumber: tcp ? 6 : 17,
                    source: Endpoint(Self.address(source), port: UInt16(30000 + index)),
                    destination: Endpoint(Self.address(address), port: port))
    }
  }

  static func address(_ text: String) -> IPAddress { .ipv4(IPAddress.parseIPv4(Substring(text))!) }

  /// Loads `conf`, sends each packet as a datagram, and checks what the far side saw against
  /// the evaluator's outcomes: a translated address and port within one of them, or nothing
  /// seen for a packet no rule translates (inbound, nothing listens on the router).
  private func compare(_ test: Case, folded: Bool, packets: [Packet], minimumThrough: Int = 5) throws {
    let conf = test.conf
    let servers: [(KeyPath<Lab, String>, [String])] = [(test.direction == .outgoing ? \.outside : \.inside, test.servers)]
    var lowering = LoweringOptions()
    lowering.foldThreshold = folded ? 2 : nil
    let file = SourceFile(name: "lab.conf", text: conf)
    let table = try #require(IPNat.lower(file, options: FrontendOptions(resolveHostNames: false), lowering: lowering).table)
    let evaluator = Evaluator(table: table)
    try withLab { lab in
      try lab.load(conf, lowering: lowering)
      for (namespace, listen) in servers { try lab.start(lab[keyPath: namespace], ["serve"] + listen) }
      let sender = packets.first?.direction == .outgoing ? lab.inside : lab.outside
      let items = packets.map { packet in
        [packet.protocolNumber == 6 ? "tcp" : "udp", "\(packet.source.address)", "\(packet.source.port!)",
         "\(packet.destination.address)", "\(packet.destination.port!)"].joined(separator: ",")
      }
      let seen = try lab.probe(sender, ["batch"] + items)
      #expect(seen.count == packets.count)
      var translated = 0
      for (packet, line) in zip(packets, seen) {
        let outcomes = evaluator.evaluate(packet).outcomes
        let answer = Answer(line)
        if answer != nil { translated += 1 }
        #expect(Self.agrees(outcomes, with: answer, for: packet),
                "\(packet.description): the kernel gave \(line), the evaluator \(outcomes.map { "\($0.source) \($0.destination)" })")
      }
      if minimumThrough > 0 {
        #expect(translated >= packets.count / minimumThrough, "datagrams got through: \(translated) of \(packets.count)")
      }
    }
  }

  /// Whether what the server saw is one of the outcomes: for an outbound packet the source it
  /// saw, for an inbound one the address and port it was reached on (and the source kept).
  static func agrees(_ outcomes: [Evaluator.Outcome], with answer: Answer?, for packet: Packet) -> Bool {
    guard let answer else { return outcomes.contains { !$0.isTranslated } }
    return outcomes.contains { outcome in
      guard outcome.isTranslated else { return false }
      let (observed, choice) = packet.direction == .outgoing
        ? ((answer.peerAddress, answer.peerPort), outcome.source) : ((answer.localAddress, answer.localPort), outcome.destination)
      return contains(choice, address: address(observed.0), port: observed.1)
    }
  }

  static func contains(_ choice: Evaluator.EndpointChoice, address: IPAddress, port: Int) -> Bool {
    let addressFits = switch choice.address {
    case .exactly(let expected): expected == address
    case .range(let low, let high): low <= address && address <= high
    case .interfaceAddress: address == Self.address("192.0.2.1")
    }
    return addressFits && (choice.ports.map { $0.contains(UInt16(port)) } ?? true)
  }
}

/// Configurations drawn at random from the rule kinds IPFilter users write, in the lab's
/// addresses: inside hosts 10.0.0.2, .3, .5 and .6, the outside host 192.0.2.2, pools in
/// 203.0.113.0/24. Outbound ones are sent to the outside host's ports 7000 to 7003; inbound
/// ones to the router's address and the pools, on the ports their rules name and one more.
enum RandomConfiguration {
  static let hosts = [2, 3, 5, 6]

  static func outbound(_ generator: inout SplitMix64) -> EvaluationDifferentialTests.Case {
    var rules: [String] = []
    for _ in 0..<(2 + generator.next(below: 4)) {
      let host = hosts[generator.next(below: 4)]
      let pool = 16 * (1 + generator.next(below: 8))
      switch generator.next(below: 7) {
      case 0: rules.append("map rwan 10.0.0.\(host)/32 -> 203.0.113.\(pool + 1)/32")
      case 1:
        let low = 20000 + 100 * generator.next(below: 50)
        rules.append("map rwan 10.0.0.0/24 -> 203.0.113.\(pool)/30 portmap \(transport(&generator)) \(low):\(low + 99)")
      case 2:
        rules.append("map rwan 10.0.0.0/\(24 + 4 * generator.next(below: 2)) -> 0/32 portmap \(transport(&generator)) auto")
      case 3: rules.append("map rwan 10.0.0.\(host)/32 -> 0/0")
      case 4: rules.append("bimap rwan 10.0.0.\(host)/32 -> 203.0.113.\(pool + 2)/32")
      case 5: rules.append("map-block rwan 10.0.0.0/24 -> 203.0.113.\(pool)/30 ports auto")
      default:
        rules.append("map rwan from 10.0.0.\(host)/32 to 192.0.2.2/32 port = \(7000 + generator.next(below: 4)) -> 203.0.113.\(pool + 3)/32")
      }
    }
    var test = EvaluationDifferentialTests.Case(name: "random outbound", conf: unique(rules), direction: .outgoing,
                                                targets: (7000...7003).map { ("192.0.2.2", UInt16($0)) },
                                                servers: (7000...7003).map { "192.0.2.2:\($0)" })
    test.withTCP = true
    return test
  }

  /// What a rule's protocol part names: UDP, TCP or both.
  static func transport(_ generator: inout SplitMix64) -> String { ["udp", "tcp", "tcp/udp"][generator.next(below: 3)] }

  static func inbound(_ generator: inout SplitMix64) -> EvaluationDifferentialTests.Case {
    var rules: [String] = []
    var targets: [(String, UInt16)] = [("192.0.2.1", 6666)]
    var servers: Set<String> = []
    for _ in 0..<(2 + generator.next(below: 4)) {
      let host = hosts[generator.next(below: 4)]
      let port = 8000 + 10 * generator.next(below: 20)
      let to = 9000 + 10 * generator.next(below: 20)
      switch generator.next(below: 3) {
      case 0:
        rules.append("rdr rwan 192.0.2.1/32 port \(port) -> 10.0.0.\(host) port \(to) \(transport(&generator))")
        targets.append(("192.0.2.1", UInt16(port)))
        servers.insert("10.0.0.\(host):\(to)")
      case 1:
        let external = "203.0.113.\(32 + generator.next(below: 8))"
        rules.append("rdr rwan \(external)/32 port \(port)-\(port + 3) -> 10.0.0.\(host) port \(to) \(transport(&generator))")
        targets += (0...3).map { (external, UInt16(port + $0)) }
        for offset in 0...3 { servers.insert("10.0.0.\(host):\(to + offset)") }
      default:
        let other = hosts[generator.next(below: 4)]
        rules.append("rdr rwan 0/0 port \(port) -> 10.0.0.\(host),10.0.0.\(other) port \(to) \(transport(&generator)) round-robin")
        targets.append(("192.0.2.1", UInt16(port)))
        servers.formUnion(["10.0.0.\(host):\(to)", "10.0.0.\(other):\(to)"])
      }
    }
    var test = EvaluationDifferentialTests.Case(name: "random inbound", conf: unique(rules), direction: .incoming,
                                                targets: targets, servers: servers.sorted())
    test.withTCP = true
    return test
  }

  /// The rules, each once: IPFilter refuses a duplicate.
  private static func unique(_ rules: [String]) -> String {
    var seen: Set<String> = []
    return rules.filter { seen.insert($0).inserted }.joined(separator: "\n") + "\n"
  }
}
