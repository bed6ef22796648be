import IPNatDiagnostics

/// A host as written: a number, an IPv4 or IPv6 literal, or a name resolved at parse time.
public struct Host: Sendable, Hashable {
  public enum Spelling: Sendable, Hashable {
    /// A bare number: `1` is IPv4 0.0.0.1; `0` is the zero address of whichever family the rule has.
    case number(UInt32)
    case ipv4(UInt32)
    case ipv6(UInt128)
    /// A host name and the address it resolved to when the file was parsed.
    indirect case name(String, resolved: IPAddress)
  }

  public var spelling: Spelling
  public var range: SourceRange

  /// The family the host itself decides, if any (`0` decides none).
  public var impliedFamily: IPFamily? {
    switch spelling {
    case .number(let value): value == 0 ? nil : .inet
    case .ipv4: .inet
    case .ipv6: .inet6
    case .name(_, let resolved): resolved.family
    }
  }

  /// The address in a rule of `family`; the parser has checked that the two agree.
  public func address(in family: IPFamily) -> IPAddress {
    switch spelling {
    case .number(let value): IPAddress(family: family, bits: UInt128(value))
    case .ipv4(let value): .ipv4(value)
    case .ipv6(let value): .ipv6(value)
    case .name(_, let resolved): resolved
    }
  }
}

/// A netmask as written after `/`, `mask` or `netmask`.
public struct MaskSpelling: Sendable, Hashable {
  public enum Form: Sendable, Hashable {
    case length(Int)
    case ipv4(UInt32)
    case ipv6(UInt128)
    /// `0xffffff00`: IPv4 only.
    case hex(UInt32)
  }

  public var form: Form
  /// `true` for `mask`/`netmask`, `false` for `/`.
  public var usesKeyword: Bool
  public var range: SourceRange
}

/// A host with an optional mask, resolved once the rule's family is known.
///
/// `address` is already masked, as IPFilter stores it: `10.0.0.5/8` means `10.0.0.0/8`.
public struct Network: Sendable, Hashable {
  public var host: Host
  public var mask: MaskSpelling?
  public var range: SourceRange
  public internal(set) var address: IPAddress
  public internal(set) var maskBits: UInt128

  init(host: Host, mask: MaskSpelling?, range: SourceRange) {
    self.host = host
    self.mask = mask
    self.range = range
    self.address = host.address(in: host.impliedFamily ?? .inet)
    self.maskBits = address.family.allOnes
  }

  public var family: IPFamily { address.family }
  /// The address as written, before masking: lint warns when host bits are set.
  public var unmaskedAddress: IPAddress { host.address(in: family) }
  /// The prefix length of a contiguous mask; `nil` for masks such as `0.0.0.255`.
  public var prefixLength: Int? { Netmask.prefixLength(of: maskBits, family: family) }
  /// Whether this network is a single host (`/32` or `/128`).
  public var isHost: Bool { maskBits == family.allOnes }
}

/// `pool/…`, `hash/…` or `dstlist/…`: a lookup table defined in ippool.conf.
public struct LookupReference: Sendable, Hashable {
  public enum Kind: String, Sendable, Hashable {
    case pool, hash, dstlist
  }

  public enum Name: Sendable, Hashable {
    case number(UInt32)
    case name(String)
  }

  public var kind: Kind
  public var name: Name
  public var range: SourceRange
}

/// The `address` production: `any`, a host with optional mask, or a lookup table.
public struct Address: Sendable, Hashable {
  public enum Kind: Sendable, Hashable {
    case any
    case network(Network)
    case lookup(LookupReference)
  }

  public var kind: Kind
  public var range: SourceRange

  public init(_ kind: Kind, range: SourceRange) {
    self.kind = kind
    self.range = range
  }

  /// The address and mask this means in a rule of `family` (`any` is the zero network);
  /// `nil` for a lookup table, whose contents live outside the file.
  public func network(in family: IPFamily) -> (address: IPAddress, mask: UInt128)? {
    switch kind {
    case .any: (IPAddress(family: family, bits: 0), 0)
    case .network(let network): (network.address, network.maskBits)
    case .lookup: nil
    }
  }
}
