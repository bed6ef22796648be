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

  public static let defaultPath = "/etc/natpmpd.conf"
  /// The dynamic range of RFC 6335, which OpenBSD's high auto range also is.
  public static let defaultExternalPorts: ClosedRange<UInt16> = 49152...65535
  public static let defaultMappingsPerClient = 128

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
