import IPNatDiagnostics
import IPNatSyntax

/// IPFilter's map-block arithmetic (`lib/nat_setgroupmap.c`, `ipf_nat_newmap`): A internal
/// addresses share each external address, and each owns P ports. The lowering builds its maps
/// from it; lint checks that the external network is large enough.
public struct PortBlockLayout: Sendable, Hashable {
  /// Internal addresses that share one external address (IPFilter's A).
  public let addressesPerIP: Int
  /// Ports each internal address owns (IPFilter's P).
  public let portsPerAddress: Int
  /// How many external addresses the internal network needs: internal hosts / A, rounded up.
  public let externalAddressesNeeded: Int
  /// How many the external network has.
  public let externalAddresses: Int

  /// 65536 − 1024 (`USABLE_PORTS`).
  public static let usablePorts = 64512

  /// Why IPFilter's arithmetic gives no usable layout.
  public enum Problem: Error, Sendable, Equatable {
    /// A side has a mask that is not a prefix.
    case notPrefixMasks
    /// Equal prefix lengths: every host gets no ports.
    case equalMasks
    /// An inside network larger than /16 wraps IPFilter's 16-bit arithmetic.
    case insideTooLarge
    /// `ports N` beyond the usable ports (IPFilter divides by zero).
    case tooManyPorts(UInt32, at: SourceRange)
  }

  public init(_ rule: MapBlockRule, inside: Network, outside: Network) throws(Problem) {
    guard let insideLength = inside.prefixLength, let outsideLength = outside.prefixLength else { throw .notPrefixMasks }
    guard insideLength != outsideLength else { throw .equalMasks }
    guard insideLength >= 16 else { throw .insideTooLarge }
    // The 16-bit field IPFilter computes A in: (host part − 1), then the division, wrap.
    let insideHostsMinusOne = (Int(inside.size) - 1) & 0xffff
    let outsideHosts = outsideLength == 0 ? Int(1) << 32 : Int(outside.size)
    var addresses = (insideHostsMinusOne / outsideHosts + 1) & 0xffff
    if addresses == 0 { addresses = 1 }
    switch rule.ports {
    case .auto?:
      addressesPerIP = addresses
      portsPerAddress = Self.usablePorts / addresses
    case .count(let count)?:
      guard count.value <= UInt32(Self.usablePorts) else { throw .tooManyPorts(count.value, at: count.range) }
      portsPerAddress = max(1, Int(count.value))
      addressesPerIP = Self.usablePorts / portsPerAddress
    case nil:
      portsPerAddress = 1
      addressesPerIP = Self.usablePorts
    }
    externalAddressesNeeded = (Int(inside.size) + addressesPerIP - 1) / addressesPerIP
    externalAddresses = Int(outside.size)
  }
}

extension MapBlockRule {
  /// The IPv4 port-block layout IPFilter computes for this rule, or `nil` when the rule is not
  /// an IPv4 map-block of two networks with a usable layout.
  public var portBlockLayout: PortBlockLayout? {
    guard family == .inet, case .network(let inside) = source.kind, case .network(let outside) = target.kind else {
      return nil
    }
    return try? PortBlockLayout(self, inside: inside, outside: outside)
  }
}

extension Network {
  /// How many addresses the network holds, saturating at `UInt128.max`.
  public var size: UInt128 {
    let hostBits = ~maskBits & family.allOnes
    return hostBits == UInt128.max ? hostBits : hostBits + 1
  }
}
