import IPAddressing

/// natpmpd.conf, as OpenBSD's natpmpd reads it (`interface`, `listen on`, `#` comments), plus
/// three settings of ipnat's own with defaults, so that an OpenBSD file reads unchanged.
public struct DaemonConfiguration: Sendable, Equatable {
  /// The internet-facing interface: its IPv4 address is the one clients are mapped to.
  public var externalInterface: String
  /// One internal address per network served; requests are answered on UDP 5351 there.
  public var listenAddresses: [UInt32]
  /// External ports handed out, at random.
  public var externalPorts: ClosedRange<UInt16>
  /// Internal ports a client may have mapped; others are refused (result 2).
  public var internalPorts: ClosedRange<UInt16>
  /// Mappings one client address may hold at once, TCP and UDP counted apart (result 4 beyond).
  public var mappingsPerClient: Int
  /// Whether PCP (RFC 6887) is served beside NAT-PMP (`pcp on|off`).
  public var pcp = true
  /// Whether UPnP IGD is served on the listen networks (`upnp on|off`): off unless asked for.
  public var upnp = false
  /// Lifetimes granted, in seconds (`lifetimes MIN-MAX`): longer requests get the maximum; PCP
  /// requests also get at least the minimum (NAT-PMP's lifetime is the client's to shorten).
  public var lifetimes: ClosedRange<UInt32> = defaultLifetimes
  /// Networks whose hosts may map ports for other hosts of the same network with PCP's
  /// THIRD_PARTY option (`third party NETWORK`); by default none may.
  public var thirdPartyNetworks: [AddressPrefix] = []
  /// `allow` and `deny` lines, in order: the first that matches a mapping decides.
  public var permissions: [PermissionRule] = []

  public static let defaultPath = "/etc/natpmpd.conf"
  /// The dynamic range of RFC 6335, which OpenBSD's high auto range also is.
  public static let defaultExternalPorts: ClosedRange<UInt16> = 49152...65535
  public static let defaultMappingsPerClient = 128
  /// RFC 6887 §15: at least two minutes; at most a day, renewed at half of it.
  public static let defaultLifetimes: ClosedRange<UInt32> = 120...86_400

  /// Whether a mapping of external port `externalPort` to `client`'s `internalPort` is
  /// permitted: as the first permission rule that matches says, else when the external port is
  /// in `external ports` (the internal port is checked against `internal ports` apart).
  public func permits(externalPort: UInt16, client: UInt32, internalPort: UInt16) -> Bool {
    let rule = permissions.first { $0.matches(externalPort: externalPort, client: client, internalPort: internalPort) }
    return rule?.allows ?? externalPorts.contains(externalPort)
  }

  /// Whether `client` may map ports for `host`: the same address, or both in one network the
  /// configuration opens to third-party requests.
  public func mayMap(for host: UInt32, askedBy client: UInt32) -> Bool {
    host == client || thirdPartyNetworks.contains { network in
      [client, host].allSatisfy { network.contains(AddressPrefix(.ipv4($0), length: 32)) }
    }
  }

  public init(externalInterface: String, listenAddresses: [UInt32],
              externalPorts: ClosedRange<UInt16> = defaultExternalPorts,
              internalPorts: ClosedRange<UInt16> = 1...65535,
              mappingsPerClient: Int = defaultMappingsPerClient)
  {
    self.externalInterface = externalInterface
    self.listenAddresses = listenAddresses
    self.externalPorts = externalPorts
    self.internalPorts = internalPorts
    self.mappingsPerClient = mappingsPerClient
  }
}

/// An `allow` or `deny` line, as miniupnpd writes them: external ports, the clients' network,
/// internal ports (`allow 1024-65535 192.168.1.0/24 1024-65535`).
public struct PermissionRule: Sendable, Equatable {
  public var allows: Bool
  public var externalPorts: ClosedRange<UInt16>
  public var network: AddressPrefix
  public var internalPorts: ClosedRange<UInt16>

  public init(allows: Bool, externalPorts: ClosedRange<UInt16>, network: AddressPrefix, internalPorts: ClosedRange<UInt16>) {
    self.allows = allows
    self.externalPorts = externalPorts
    self.network = network
    self.internalPorts = internalPorts
  }

  public func matches(externalPort: UInt16, client: UInt32, internalPort: UInt16) -> Bool {
    externalPorts.contains(externalPort) && internalPorts.contains(internalPort)
      && network.contains(AddressPrefix(.ipv4(client), length: 32))
  }
}
