import IPAddressing
import IPNatSemantics
import IPNatSyntax

/// The round-robin rdr rules of a file, grouped as the lowering groups them
/// (`RuleGroup.partition`: the same left-hand side takes turns), and indexed by destination so that checks find a rule's
/// group and its near misses without scanning every rule.
struct RoundRobinGroups: Sendable {
  /// The groups, in file order.
  let members: [[RdrRule]]
  /// Group sizes by the start offset of each member.
  private let groupSize: [Int: Int]
  /// The rules on each destination (`nil` for a lookup), in file order.
  private let byDestination: [DestinationKey: [RdrRule]]

  private struct DestinationKey: Hashable {
    let family: IPFamily
    let prefix: AddressPrefix?
  }

  init(_ rules: [Rule]) {
    members = RuleGroup.partition(rules).compactMap { group in
      switch group {
      case .roundRobin(let members): members.map(\.rule)
      case .single(.rdr(let rdr), _) where rdr.options.roundRobin != nil: [rdr.value]
      case .single: nil
      }
    }
    let roundRobin = members.flatMap { $0 }
    var sizes: [Int: Int] = [:]
    for group in members {
      for member in group { sizes[member.range.start] = group.count }
    }
    groupSize = sizes
    byDestination = Dictionary(grouping: roundRobin, by: Self.destination)
  }

  /// Whether `rdr` is a round-robin rule with no partner to take turns with.
  func isAlone(_ rdr: RdrRule) -> Bool { groupSize[rdr.range.start] == 1 }

  /// The other round-robin rules on the same destination address, in file order: partners if
  /// their left-hand sides are identical, near misses otherwise.
  func nearPartners(of rdr: RdrRule) -> [RdrRule] {
    (byDestination[Self.destination(rdr)] ?? []).filter { $0.range != rdr.range }
  }

  private static func destination(_ rdr: RdrRule) -> DestinationKey {
    DestinationKey(family: rdr.family, prefix: AddressPrefix(rdr.destinationAddress, family: rdr.family))
  }
}
