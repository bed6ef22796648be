import IPAddressing

/// UPnP IGD's port mappings (WANIPConnection:1 and :2) on the same table as NAT-PMP and PCP:
/// what each action does to the mappings, and the error it earns, with the transport (SSDP,
/// HTTP, SOAP) left to the `UPnP` target. A mapping is named by its external port and
/// protocol; a client maps only its own address, and deletes only its own mappings.
public enum IGD {
  /// The errors of the WANIPConnection specifications (v1 §2.4, v2 §2.5) that apply here.
  public enum Failure: Int, Error, Sendable, CustomStringConvertible {
    case invalidArguments = 402
    case actionFailed = 501
    case notAuthorized = 606
    case arrayIndexInvalid = 713
    case noSuchEntry = 714
    case wildcardNotPermittedInExternalPort = 716
    case conflictInMappingEntry = 718
    case remoteHostOnlySupportsWildcard = 726
    case noPortMapsAvailable = 728
    case portMappingNotFound = 730
    case wildcardNotPermittedInInternalPort = 732
    case inconsistentParameters = 733

    public var description: String {
      switch self {
      case .invalidArguments: "Invalid Args"
      case .actionFailed: "Action Failed"
      case .notAuthorized: "Action not authorized"
      case .arrayIndexInvalid: "SpecifiedArrayIndexInvalid"
      case .noSuchEntry: "NoSuchEntryInArray"
      case .wildcardNotPermittedInExternalPort: "WildCardNotPermittedInExtPort"
      case .conflictInMappingEntry: "ConflictInMappingEntry"
      case .remoteHostOnlySupportsWildcard: "RemoteHostOnlySupportsWildcard"
      case .noPortMapsAvailable: "NoPortMapsAvailable"
      case .portMappingNotFound: "PortMappingNotFound"
      case .wildcardNotPermittedInInternalPort: "WildCardNotPermittedInIntPort"
      case .inconsistentParameters: "InconsistentParameters"
      }
    }
  }

  /// AddPortMapping's and AddAnyPortMapping's arguments.
  public struct Request: Sendable, Equatable {
    public var externalPort: UInt16
    public var transport: MappedProtocol
    public var internalClient: UInt32
    public var internalPort: UInt16
    /// Seconds; 0 asks for the longest lease (IGD:2).
    public var leaseDuration: UInt32
    public var description: String
    /// False for NewRemoteHost other than the wildcard: a mapping for one peer only.
    public var remoteHostIsWildcard = true

    public init(externalPort: UInt16, transport: MappedProtocol, internalClient: UInt32, internalPort: UInt16,
                leaseDuration: UInt32, description: String) {
      self.externalPort = externalPort
      self.transport = transport
      self.internalClient = internalClient
      self.internalPort = internalPort
      self.leaseDuration = leaseDuration
      self.description = description
    }
  }

  /// One mapping as the Get…Entry actions report it.
  public struct Entry: Sendable, Equatable {
    public var mapping: Mapping
    public var description: String
    /// Seconds left.
    public var leaseDuration: UInt32
  }
}

extension NATPMPService {
  /// AddPortMapping: exactly the external port asked for, or an error (718 when another client
  /// port holds it). The same request again renews the mapping.
  public func addPortMapping(_ request: IGD.Request, from sender: UInt32, now: UInt64) -> Result<IGD.Entry, IGD.Failure> {
    guard request.externalPort != 0 else { return .failure(.wildcardNotPermittedInExternalPort) }
    return add(request, from: sender, now: now, anyPort: false)
  }

  /// AddAnyPortMapping (IGD:2): the port asked for when it is free, else another.
  public func addAnyPortMapping(_ request: IGD.Request, from sender: UInt32, now: UInt64) -> Result<IGD.Entry, IGD.Failure> {
    add(request, from: sender, now: now, anyPort: true)
  }

  private func add(_ request: IGD.Request, from sender: UInt32, now: UInt64, anyPort: Bool)
    -> Result<IGD.Entry, IGD.Failure>
  {
    guard request.internalPort != 0 else { return .failure(.wildcardNotPermittedInInternalPort) }
    guard request.remoteHostIsWildcard else { return .failure(.remoteHostOnlySupportsWildcard) }
    // Secure by default: a client maps its own address, never another host's.
    guard request.internalClient == sender, configuration.internalPorts.contains(request.internalPort) else {
      return .failure(.notAuthorized)
    }
    guard externalAddress != nil else { return .failure(.actionFailed) }
    let key = Mapping.Key(transport: request.transport, client: sender, internalPort: request.internalPort)
    let lease = igdLease(request.leaseDuration)
    let expiry = now + UInt64(lease) * 1000
    if var existing = table[key] {
      // This client port is mapped already: a renewal of its port, or with AddAnyPortMapping
      // the port it has; IGD cannot move it to another while it lives.
      guard existing.externalPort == request.externalPort || anyPort else { return .failure(.conflictInMappingEntry) }
      existing.expiry = expiry
      return finish(install(existing, now: now, by: .upnp, description: request.description), lease: lease)
    }
    guard table.count(forClient: sender) < configuration.mappingsPerClient else { return .failure(.noPortMapsAvailable) }
    // Unlike NAT-PMP's, an IGD client names each protocol's external port, and may give TCP
    // and UDP of one client port different ones; a port another client port holds is taken.
    let permitted = configuration.permits(externalPort: request.externalPort, client: sender,
                                          internalPort: request.internalPort)
    let free = table.isFree(request.externalPort, orHeldBy: sender, request.internalPort)
    var port = request.externalPort != 0 && permitted && free ? request.externalPort : nil
    if port == nil && !anyPort { return .failure(permitted ? .conflictInMappingEntry : .notAuthorized) }
    port = port ?? randomPort(for: key)
    guard let port else { return .failure(mayHaveAnyPort(key) ? .noPortMapsAvailable : .notAuthorized) }
    let mapping = Mapping(transport: request.transport, client: sender, internalPort: request.internalPort,
                          externalPort: port, expiry: expiry)
    return finish(install(mapping, now: now, by: .upnp, description: request.description), lease: lease)
  }

  private func finish(_ installed: (ResultCode, Mapping?), lease: UInt32) -> Result<IGD.Entry, IGD.Failure> {
    guard installed.0 == .success, let mapping = installed.1 else { return .failure(.actionFailed) }
    return .success(IGD.Entry(mapping: mapping, description: descriptions[mapping.key] ?? "", leaseDuration: lease))
  }

  /// IGD:2's lease: 0 and anything longer than the configured maximum get the maximum; a
  /// short one stands.
  private func igdLease(_ seconds: UInt32) -> UInt32 {
    seconds == 0 ? configuration.lifetimes.upperBound : min(seconds, configuration.lifetimes.upperBound)
  }

  /// DeletePortMapping: the sender's own mapping of that external port.
  public func deletePortMapping(externalPort: UInt16, transport: MappedProtocol, from sender: UInt32) -> IGD.Failure? {
    guard let mapping = table.mapping(externalPort: externalPort, transport: transport) else { return .noSuchEntry }
    guard mapping.client == sender else { return .notAuthorized }
    return remove([mapping]) ? nil : .actionFailed
  }

  /// DeletePortMappingRange (IGD:2): the sender's mappings of the protocol in the port range.
  public func deletePortMappingRange(_ ports: ClosedRange<UInt16>, transport: MappedProtocol, from sender: UInt32)
    -> IGD.Failure?
  {
    let doomed = table.mappings.values.filter {
      $0.transport == transport && ports.contains($0.externalPort) && $0.client == sender
    }
    guard !doomed.isEmpty else { return .noSuchEntry }
    return remove(doomed) ? nil : .actionFailed
  }

  /// GetSpecificPortMappingEntry.
  public func portMappingEntry(externalPort: UInt16, transport: MappedProtocol, now: UInt64) -> IGD.Entry? {
    table.mapping(externalPort: externalPort, transport: transport).map { entry($0, now: now) }
  }

  /// Every mapping, in a stable order (external port, then protocol): GetGenericPortMappingEntry
  /// walks it by index, GetListOfPortMappings by port.
  public func portMappingEntries(now: UInt64) -> [IGD.Entry] {
    table.mappings.values.sorted { ($0.externalPort, $0.transport.protocolNumber) < ($1.externalPort, $1.transport.protocolNumber) }
      .map { entry($0, now: now) }
  }

  private func entry(_ mapping: Mapping, now: UInt64) -> IGD.Entry {
    let left = mapping.expiry > now ? UInt32(clamping: (mapping.expiry - now + 999) / 1000) : 0
    return IGD.Entry(mapping: mapping, description: descriptions[mapping.key] ?? "", leaseDuration: left)
  }
}
