/// An address with a contiguous mask, host bits cleared: `10.0.0.0/8`.
public struct AddressPrefix: Hashable, Sendable, CustomStringConvertible {
  public let address: IPAddress
  public let length: Int

  public init(_ address: IPAddress, length: Int) {
    self.length = length
    self.address = IPAddress(family: address.family, bits: address.bits & Self.mask(length, address.family))
  }

  public var family: IPFamily { address.family }

  /// The prefix of `length` bits that holds this one.
  public func truncated(to length: Int) -> AddressPrefix { AddressPrefix(address, length: length) }

  public func contains(_ other: AddressPrefix) -> Bool {
    family == other.family && length <= other.length && other.address.bits & Self.mask(length, family) == address.bits
  }

  /// Whether the two share any address; for prefixes that means one holds the other.
  public func overlaps(_ other: AddressPrefix) -> Bool { contains(other) || other.contains(self) }

  public var description: String { "\(address)/\(length)" }

  /// The mask of the first `length` bits.
  public static func mask(_ length: Int, _ family: IPFamily) -> UInt128 {
    guard length > 0 else { return 0 }
    return family.allOnes & ~(family.allOnes >> UInt128(length))
  }
}
