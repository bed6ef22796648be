import IPAddressing
import IPNatSemantics
import IPNatSyntax
import NFTModel

/// Port forwards and 1:1 maps, the rules a large file holds by the thousand, go to folding as
/// candidates made straight from the ipnat rule's parts. Building each as an nft rule, only for
/// ``FoldCandidate`` to read it back and drop it, took about a seventh of a compile's work.
extension RuleLowering {
  /// `address` as the key of a map element: a network of a prefix mask, without host bits
  /// (an address with them is matched as written, and its rule is not one a candidate gives
  /// back), that tests something (`any` tests nothing). `nil` when folding is off.
  func foldablePrefix(_ address: Address) -> AddressPrefix? {
    guard options.foldThreshold != nil, let (network, mask) = address.network(in: family), mask != 0,
      network.family == family, let length = Netmask.prefixLength(of: mask, family: family)
    else { return nil }
    let prefix = AddressPrefix(network, length: length)
    return prefix.address == network ? prefix : nil
  }

  /// The candidate of the NAT rule that matches the interface, the network, the protocols and
  /// at most one destination port, and translates by `statement`; `nil` when no map can stand
  /// for it, and the rule must be built.
  ///
  /// `matches` must make the rule's matches, exactly those the parts stand for: debug builds
  /// check that the candidate is the one folding would read from that rule.
  func foldCandidate(
    _ chain: NATChain, interface: String?, network: AddressPrefix, protocols ruleProtocol: RuleProtocol, port: UInt16?,
    _ statement: Statement, matches: () throws(LoweringError) -> Matches
  ) throws(LoweringError) -> FoldCandidate? {
    let protocols = ruleProtocol.numbers
    guard let interface, case .nat(let nat) = statement,
      let candidate = FoldCandidate(chain: chain, interface: interface, network: network,
                                    protocols: protocols.isEmpty ? nil : protocols, port: port.map(UInt64.init), nat,
                                    origin: origin),
      candidate.fits(allowingConcatenatedData: options.target.concatenatedMapData)
    else { return nil }
    #if DEBUG
      let read = FoldCandidate.exactly(rule(try matches(), [statement]), chain: chain)
      assert(read?.standsForTheSameRule(as: candidate) == true, "a direct candidate differs from its rule's: \(origin.text)")
    #endif
    return candidate
  }

  mutating func add(_ chain: NATChain, prefixLength: Int, _ candidate: FoldCandidate) {
    let rank = SearchRank(prefixLength: prefixLength, ordinal: ordinal)
    output.natRules.append(RankedRule(chain: chain, rank: rank, entry: .candidate(candidate)))
  }
}

extension FoldCandidate {
  /// Whether the two would give the same map elements and the same rule.
  func standsForTheSameRule(as other: FoldCandidate) -> Bool {
    shape == other.shape && network == other.network && interface == other.interface && port == other.port
      && protocols == other.protocols && target == other.target && targetPorts == other.targetPorts
      && origin == other.origin
  }
}
