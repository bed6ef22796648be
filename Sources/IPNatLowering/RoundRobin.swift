import IPNatDiagnostics
import IPNatSemantics
import IPNatSyntax
import NFTModel

// IPFilter's round-robin has no group syntax: round-robin rdr rules with the same left-hand side
// take turns (`RuleGroup.partition` gathers them). Several nft rules with their own counters
// cannot take turns, so each group becomes one rule that chooses a target.

/// One round-robin group: a dispatch rule (`numgen inc mod N vmap { 0 : goto rr_7_0, … }`) and a
/// chain per target. A member with `A,B` targets takes two turns in a row, as IPFilter rotates
/// such a rule only after it has used its second address.
///
/// `sticky`, as IPFilter's hostmap: a sticky member's chain remembers each client it serves,
/// by (client, original destination, destination port), in a dynamic set of its own; before the
/// rotation, the dispatch sends a remembered client back to that chain without taking a turn.
/// Clients of members without `sticky` are not remembered and rotate as before (test ni17).
struct RoundRobinGroup {
  let members: [(rule: RdrRule, ordinal: Int)]
  /// Each member's canonical form, printed once by whoever found its duplicates.
  let canonicalForms: [String]
  let file: SourceFile
  let options: LoweringOptions
  let interfaces: InterfaceNames

  func lower() throws(LoweringError) -> LoweredRule {
    var combined = LoweredRule()
    var targets: [Verdict] = []
    /// The chains of sticky members, with the key their clients are remembered by.
    var stickyChains: [(chain: String, key: Expression)] = []
    for (member, canonicalForm) in zip(members, canonicalForms) {
      var context = RuleLowering(rule: .rdr(member.rule), ordinal: member.ordinal, file: file, options: options,
                                 interfaces: interfaces, printedAs: canonicalForm)
      for destination in try memberTargets(member.rule, context) {
        var statements = try context.tagStatements(member.rule)
        statements.append(try context.destinationTranslation(member.rule, to: destination))
        var matches = Matches(family: member.rule.family)
        matches.transport(member.rule.ruleProtocol)
        let chain = Chain.roundRobinTarget(group: members[0].ordinal, target: targets.count)
        var rules: [NFTModel.Rule] = []
        if member.rule.options.sticky != nil {
          let clients = Self.remembered(member.rule, chain: chain, context)
          context.output.maps.append(clients.set)
          stickyChains.append((chain, clients.key))
          // A rule of its own, without a counter: when the set is full the update fails and ends
          // only this rule, and the client is translated all the same.
          rules.append(NFTModel.Rule(matches: matches.all, statements: [.updateSet(clients.set.name, key: clients.key)],
                                     counter: false, origin: context.origin))
        }
        // Without a protocol match here nft refuses a port in the dnat.
        rules.append(context.rule(matches, statements))
        context.output.chains.append(Chain(name: chain, rules: rules))
        targets.append(.goto(chain))
      }
      try context.lowerRdrAttributes(member.rule)
      combined.append(contentsOf: context.output)
    }

    var first = RuleLowering(rule: .rdr(members[0].rule), ordinal: members[0].ordinal, file: file, options: options,
                             interfaces: interfaces, printedAs: canonicalForms[0])
    let lines = members.map { String(file.location(of: $0.rule.range.start).line) }.joined(separator: ", ")
    let origin = Origin(file: file.name, line: first.origin.line, text: "round-robin over the rdr rules of lines \(lines)",
                        range: members[0].rule.range)
    let dispatch = Statement.verdictMap(key: .selector(.numgenIncrement(modulus: UInt32(targets.count))),
                                        targets.enumerated().map { VerdictMapEntry(.integer(UInt64($0.offset)), $0.element) })
    let matches = try first.rdrMatches(members[0].rule)
    let precedence = members[0].rule.destinationAddress.precedenceLength(in: members[0].rule.family)
    var reflected: NFTModel.Rule?
    if options.reflection { reflected = try first.reflectedRule(members[0].rule, matches: matches, statements: [dispatch]) }
    // The group's rules for outside clients, and with reflection those for inside clients of the
    // external address: on each side, returning clients are looked up before the rotation.
    for matchesOfSide in [matches.all] + (reflected.map { [$0.matches] } ?? []) {
      for sticky in stickyChains {
        let returning = Match(sticky.key, .keys(ofMap: NamedMap.clientSetName(ofChain: sticky.chain)))
        first.add(.dstnat, prefixLength: precedence,
                  NFTModel.Rule(matches: matchesOfSide + [returning], statements: [.verdict(.goto(sticky.chain))], origin: origin))
      }
      first.add(.dstnat, prefixLength: precedence, NFTModel.Rule(matches: matchesOfSide, statements: [dispatch], origin: origin))
    }
    // The dispatch rule comes first in `combined`, so the member chains it jumps to are declared before it.
    combined.append(contentsOf: first.output)
    return combined
  }

  /// The dynamic set that remembers a sticky member's clients, and the key it keeps them by:
  /// IPFilter's hostmap key, the client, the original destination and, for a rule with ports,
  /// the destination port. IPFilter forgets a client when its last session through the rule
  /// ends; a set can only forget by time, so a client is kept for the rule's `age` after its
  /// last new session, or an hour.
  private static func remembered(_ rdr: RdrRule, chain: String, _ context: RuleLowering) -> (set: NamedMap, key: Expression) {
    let addressType: DataType = rdr.family == .inet ? .ipv4Address : .ipv6Address
    var parts = [context.addressSelector(.source), context.addressSelector(.destination)]
    var types = [addressType, addressType]
    if rdr.ruleProtocol.carriesPorts {
      parts.append(.selector(.payload(PayloadField(.th, .dport))))
      types.append(.service)
    }
    let age = rdr.options.age.map { max($0.forward, $0.reverse) } ?? 0
    // A set's timeout has the same bound as a connection's (nft 1.0.6 refuses 10^8 s and more).
    let seconds = age > 0 ? min(age, RuleLowering.longestTimeoutSeconds) : defaultRememberSeconds
    let set = NamedMap.dynamicSet(name: NamedMap.clientSetName(ofChain: chain), key: types, seconds: seconds)
    return (set, .concatenation(parts))
  }

  /// How long a sticky member remembers a client without `age`: an hour after its last new session.
  static let defaultRememberSeconds: UInt32 = 3600

  /// The targets a member contributes: two for `A,B`, one otherwise.
  private func memberTargets(_ rdr: RdrRule, _ context: RuleLowering) throws(LoweringError) -> [RuleLowering.NewDestination] {
    let destination = try context.newDestination(rdr)
    if case .alternate(let first, let second) = destination { return [.host(first), .host(second)] }
    return [destination]
  }
}
