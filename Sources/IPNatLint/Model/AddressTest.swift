import IPAddressing
import IPNatSyntax

/// The prefix an `Address` means in a rule: the only kind of network whose containment lint
/// can decide exactly. Non-contiguous masks and lookup tables have none, so checks that compare
/// match sets leave such rules alone rather than guess.
extension AddressPrefix {
  /// The prefix an `Address` means in a rule of `family`; `nil` for lookups and odd masks.
  init?(_ address: Address, family: IPFamily) {
    switch address.kind {
    case .any: self.init(IPAddress(family: family, bits: 0), length: 0)
    case .lookup: return nil
    case .network(let network):
      guard let length = network.prefixLength else { return nil }
      self.init(network.address, length: length)
    }
  }

  var isEverything: Bool { length == 0 }
  /// How many addresses it holds, saturating at `Int.max` for large IPv6 prefixes.
  var size: Int {
    let hostBits = family.width - length
    return hostBits >= Int.bitWidth - 1 ? Int.max : 1 << hostBits
  }

  /// The prefixes holding this one, from itself up to the whole address space.
  var ancestors: [AddressPrefix] { (0...length).reversed().map { AddressPrefix(address, length: $0) } }
}

/// One address test of a rule: a prefix, or everything outside one (`! to …`).
struct AddressTest: Hashable, Sendable {
  let prefix: AddressPrefix
  let negated: Bool

  static func any(_ family: IPFamily) -> AddressTest {
    AddressTest(prefix: AddressPrefix(IPAddress(family: family, bits: 0), length: 0), negated: false)
  }

  /// Whether this test passes every address `other` passes.
  func covers(_ other: AddressTest) -> Bool {
    switch (negated, other.negated) {
    case (false, false): prefix.contains(other.prefix)
    case (false, true): prefix.isEverything
    case (true, false): !prefix.overlaps(other.prefix)
    case (true, true): other.prefix.contains(prefix)
    }
  }

  func intersects(_ other: AddressTest) -> Bool {
    switch (negated, other.negated) {
    case (false, false): prefix.overlaps(other.prefix)
    case (false, true): !other.prefix.contains(prefix)
    case (true, false): !prefix.contains(other.prefix)
    case (true, true): !prefix.isEverything && !other.prefix.isEverything
    }
  }
}
