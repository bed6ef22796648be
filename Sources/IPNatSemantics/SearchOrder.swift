import IPAddressing
import IPNatSyntax

/// Where a rule stands in IPFilter's search. IPFilter does not try its rules in file order: it
/// hashes map rules by source and rdr rules by destination, and walks its masks from the
/// longest prefix to the shortest (`ipf_nat_outlookup`, `ipf_nat_inlookup` in `ip_nat.c`), so a
/// rule with a longer prefix is tried first; among rules of one length, the earlier one wins.
/// The lowering orders its NAT chains by it; lint's shadowing and overlap checks ask it.
public struct SearchRank: Sendable, Hashable, Comparable {
  /// The prefix length of the address the table hashes (source for map, destination for rdr).
  public var prefixLength: Int
  /// The rule's position in the file.
  public var ordinal: Int

  public init(prefixLength: Int, ordinal: Int) {
    self.prefixLength = prefixLength
    self.ordinal = ordinal
  }

  /// Whether IPFilter tries a rule of this rank before one of `other`'s.
  public func isTried(before other: SearchRank) -> Bool {
    prefixLength != other.prefixLength ? prefixLength > other.prefixLength : ordinal < other.ordinal
  }

  public static func < (lhs: SearchRank, rhs: SearchRank) -> Bool { lhs.isTried(before: rhs) }
}

extension Address {
  /// The prefix length IPFilter ranks the rule by: lookups and `any` count as /0.
  public func precedenceLength(in family: IPFamily) -> Int {
    guard case .network(let network) = kind else { return 0 }
    return network.prefixLength ?? 0
  }
}
