import IPAddressing
import IPNatNetlink
import NFTModel

/// A client a sticky round-robin target remembers, as IPFilter's hostmap entry (`ipnat -l`):
/// its address, the address and port it asked for, the server it goes back to and the rule.
public struct RememberedClient: Sendable, Hashable {
  public var client: IPAddress
  public var destination: IPAddress
  /// Nil for a rule without ports.
  public var port: UInt16?
  /// The target's address as the rule writes it (one of `A,B`, or the rule's target).
  public var server: String
  public var rule: String?
  public var place: String?
  /// Seconds until the client is forgotten, as the set's timeout counts down.
  public var expiresIn: UInt64?

  /// The clients of each dynamic set, told apart by the chain the set belongs to
  /// (`rr_7_1_clients` is chain `rr_7_1`'s): that chain's rule names the target. Keys the
  /// lowering did not write (another length) are left out.
  static func decode(_ sets: [KernelRuleset.RememberedClients], rules: [LoadedRule]) -> [RememberedClient] {
    let targets = TargetChains(rules)
    return sets.flatMap { set -> [RememberedClient] in
      guard let chain = NamedMap.chain(ofClientSet: set.set), let target = targets.target(ofChain: chain) else { return [] }
      return set.elements.compactMap { element in
        guard let key = Key(element.key) else { return nil }
        return RememberedClient(client: key.client, destination: key.destination, port: key.port, server: target.server,
                                rule: target.rule, place: target.place, expiresIn: element.expiration.map { $0 / 1000 })
      }
    }
  }

  /// A set's key: client, original destination and, for a rule with ports, the destination
  /// port, each field in a 4-byte register (IPv4) or four (IPv6).
  struct Key {
    var client: IPAddress
    var destination: IPAddress
    var port: UInt16?

    init?(_ bytes: [UInt8]) {
      let width: Int
      switch bytes.count {
      case 8, 12: width = 4
      case 32, 36: width = 16
      default: return nil
      }
      func address(at offset: Int) -> IPAddress {
        let bits = bytes[offset..<offset + width].reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
        return IPAddress(family: width == 4 ? .inet : .inet6, bits: bits)
      }
      (client, destination) = (address(at: 0), address(at: width))
      port = bytes.count % 8 == 4 ? UInt16(bytes[2 * width]) << 8 | UInt16(bytes[2 * width + 1]) : nil
    }
  }
}

/// The chains of round-robin targets (`rr_K_I`), each with its rule and the address it sends
/// clients to: the I-th of a member's `A,B` addresses, counted among the chains of that rule.
struct TargetChains {
  private var byChain: [String: (rule: String?, place: String?, server: String)] = [:]

  init(_ rules: [LoadedRule]) {
    var chainsOfRule: [String: [String]] = [:]
    var identities: [String: RuleIdentity] = [:]
    for rule in rules where Chain.isRoundRobinTarget(rule.chain) {
      guard let identity = rule.identity, identities[rule.chain] == nil else { continue }
      identities[rule.chain] = identity
      chainsOfRule[identity.text, default: []].append(rule.chain)
    }
    for (text, chains) in chainsOfRule {
      let addresses = Self.targetAddresses(ofRdr: text)
      for (index, chain) in chains.sorted(by: Self.inTargetOrder).enumerated() {
        let server = addresses.count == chains.count ? addresses[index] : addresses.joined(separator: ",")
        byChain[chain] = (text, identities[chain]?.place, server)
      }
    }
  }

  func target(ofChain chain: String) -> (rule: String?, place: String?, server: String)? { byChain[chain] }

  /// `rdr … -> A,B port 80 tcp …`: [A, B]; `-> A/32`: [A], as a host is written; `-> A-B`
  /// (a range): [A], where IPFilter and the lowering send every client.
  static func targetAddresses(ofRdr text: String) -> [String] {
    guard let arrow = text.firstRange(of: " -> ") else { return [] }
    let target = text[arrow.upperBound...].prefix { $0 != " " }
    return target.split(separator: ",").map { address in
      for hostMask in ["/32", "/128"] where address.hasSuffix(hostMask) { return String(address.dropLast(hostMask.count)) }
      return String(address.prefix { $0 != "-" })
    }
  }

  /// `rr_7_2` before `rr_7_10`: by the target's number, not as text.
  private static func inTargetOrder(_ left: String, _ right: String) -> Bool {
    func number(_ chain: String) -> Int { Int(chain.split(separator: "_").last ?? "") ?? 0 }
    return number(left) < number(right)
  }
}
