import IPNatDiagnostics
import IPNatSemantics
import IPNatSyntax
import NFTModel

// IPFilter's round-robin has no group syntax: round-robin rdr rules with the same left-hand side
// take turns (`RuleGroup.partition` gathers them). Several nft rules with their own counters
// cannot take turns, so each group becomes one rule that chooses a target.

/// One round-robin group: a dispatch rule (`numgen inc mod N vmap { 0 : goto rr_7_0, … }`) and a
/// chain per target. A member with `A,B` targets takes two turns in a row, as IPFilter rotates
/// such a rule only after it has used its second address. With `sticky`, a hash of the client
/// address picks the target, so a returning client gets the same one.
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
    let groupName = "rr_\(members[0].ordinal)"
    for (member, canonicalForm) in zip(members, canonicalForms) {
      var context = RuleLowering(rule: .rdr(member.rule), ordinal: member.ordinal, file: file, options: options,
                                 interfaces: interfaces, printedAs: canonicalForm)
      for destination in try memberTargets(member.rule, context) {
        var statements = try context.tagStatements(member.rule)
        statements.append(try context.destinationTranslation(member.rule, to: destination))
        var matches = Matches(family: member.rule.family)
        matches.transport(member.rule.ruleProtocol)
        let chain = "\(groupName)_\(targets.count)"
        // Without a protocol match here nft refuses a port in the dnat.
        context.output.chains.append(Chain(name: chain, rules: [context.rule(matches, statements)]))
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
    let sticky = members.contains { $0.rule.options.sticky != nil }
    let count = UInt32(targets.count)
    let chooser: Selector = sticky ? .jenkinsHash(first.addressSelector(.source), modulus: count) : .numgenIncrement(modulus: count)
    let dispatch = Statement.verdictMap(key: .selector(chooser),
                                        targets.enumerated().map { VerdictMapEntry(.integer(UInt64($0.offset)), $0.element) })
    let matches = try first.rdrMatches(members[0].rule)
    let precedence = members[0].rule.destinationAddress.precedenceLength(in: members[0].rule.family)
    first.add(.dstnat, prefixLength: precedence, NFTModel.Rule(matches: matches.all, statements: [dispatch], origin: origin))
    if options.reflection, let reflected = try first.reflectedRule(members[0].rule, matches: matches, statements: [dispatch]) {
      first.add(.dstnat, prefixLength: precedence, NFTModel.Rule(matches: reflected.matches, statements: [dispatch], origin: origin))
    }
    // The dispatch rule comes first in `combined`, so the member chains it jumps to are declared before it.
    combined.append(contentsOf: first.output)
    return combined
  }

  /// The targets a member contributes: two for `A,B`, one otherwise.
  private func memberTargets(_ rdr: RdrRule, _ context: RuleLowering) throws(LoweringError) -> [RuleLowering.NewDestination] {
    let destination = try context.newDestination(rdr)
    if case .alternate(let first, let second, _) = destination { return [.host(first), .host(second)] }
    return [destination]
  }
}
