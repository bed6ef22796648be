import IPAddressing
import NATPMP

/// WANIPConnection's actions (v1, and v2's additions), read from SOAP arguments and carried out
/// on the service's mappings. Nil: no such action in this version.
extension Gateway {
  func connection(_ action: SOAP.Action, version: Int, from client: UInt32, now: UInt64)
    -> Result<[(String, String)], IGD.Failure>?
  {
    let arguments = Arguments(action.arguments)
    switch (action.name, version) {
    case ("GetExternalIPAddress", _):
      return .success([("NewExternalIPAddress", service.externalAddress.map(IPAddress.formatIPv4) ?? "")])
    case ("GetStatusInfo", _):
      return .success([("NewConnectionStatus", service.externalAddress == nil ? "Disconnected" : "Connected"),
                       ("NewLastConnectionError", "ERROR_NONE"), ("NewUptime", String((now - min(now, start)) / 1000))])
    case ("GetConnectionTypeInfo", _):
      return .success([("NewConnectionType", "IP_Routed"), ("NewPossibleConnectionTypes", "IP_Routed")])
    case ("AddPortMapping", _):
      return arguments.request().flatMap { service.addPortMapping($0, from: client, now: now) }.map { _ in [] }
    case ("AddAnyPortMapping", 2):
      return arguments.request().flatMap { service.addAnyPortMapping($0, from: client, now: now) }
        .map { [("NewReservedPort", String($0.mapping.externalPort))] }
    case ("DeletePortMapping", _):
      return arguments.mappingKey().flatMap { port, transport in
        Self.outcome(service.deletePortMapping(externalPort: port, transport: transport, from: client))
      }
    case ("DeletePortMappingRange", 2):
      return arguments.range().flatMap { ports, transport in
        Self.outcome(service.deletePortMappingRange(ports, transport: transport, from: client))
      }
    case ("GetSpecificPortMappingEntry", _):
      return arguments.mappingKey().flatMap { port, transport in
        guard let entry = service.portMappingEntry(externalPort: port, transport: transport, now: now) else {
          return .failure(.noSuchEntry)
        }
        return .success(Self.values(of: entry))
      }
    case ("GetGenericPortMappingEntry", _):
      guard let index = arguments.number("NewPortMappingIndex", as: UInt16.self) else { return .failure(.invalidArguments) }
      let entries = service.portMappingEntries(now: now)
      guard Int(index) < entries.count else { return .failure(.arrayIndexInvalid) }
      let entry = entries[Int(index)]
      return .success([("NewRemoteHost", ""), ("NewExternalPort", String(entry.mapping.externalPort)),
                       ("NewProtocol", Arguments.name(entry.mapping.transport))] + Self.values(of: entry))
    case ("GetListOfPortMappings", 2):
      return arguments.range().flatMap { ports, transport in
        listing(ports, transport, manage: arguments.flag("NewManage") ?? false,
                limit: arguments.number("NewNumberOfPorts", as: UInt16.self) ?? 0, client: client, now: now)
      }
    default:
      return nil
    }
  }

  /// GetListOfPortMappings: an XML document of entries (WANIPConnection:2 §2.5.19), in a
  /// string argument. Without NewManage, only the caller's own mappings.
  private func listing(_ ports: ClosedRange<UInt16>, _ transport: MappedProtocol, manage: Bool, limit: UInt16,
                       client: UInt32, now: UInt64) -> Result<[(String, String)], IGD.Failure> {
    var entries = service.portMappingEntries(now: now).filter {
      $0.mapping.transport == transport && ports.contains($0.mapping.externalPort) && (manage || $0.mapping.client == client)
    }
    if limit > 0 { entries = Array(entries.prefix(Int(limit))) }
    guard !entries.isEmpty else { return .failure(.portMappingNotFound) }
    let items = entries.map { entry in
      let fields = [("NewRemoteHost", ""), ("NewExternalPort", String(entry.mapping.externalPort)),
                    ("NewProtocol", Arguments.name(entry.mapping.transport))] + Self.values(of: entry)
      return "<p:PortMappingEntry>" + fields.map { name, value in
        let element = name == "NewPortMappingDescription" ? "NewDescription"
          : name == "NewLeaseDuration" ? "NewLeaseTime" : name
        return "<p:\(element)>\(SOAP.escaped(value))</p:\(element)>"
      }.joined() + "</p:PortMappingEntry>"
    }.joined()
    let document = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
      + "<p:PortMappingList xmlns:p=\"urn:schemas-upnp-org:gw:WANIPConnection\">\(items)</p:PortMappingList>"
    return .success([("NewPortListing", document)])
  }

  /// An action with no out arguments: done, or its failure.
  static func outcome(_ failure: IGD.Failure?) -> Result<[(String, String)], IGD.Failure> {
    failure.map { .failure($0) } ?? .success([])
  }

  /// An entry's values, as GetSpecificPortMappingEntry answers them.
  static func values(of entry: IGD.Entry) -> [(String, String)] {
    [("NewInternalPort", String(entry.mapping.internalPort)), ("NewInternalClient", IPAddress.formatIPv4(entry.mapping.client)),
     ("NewEnabled", "1"), ("NewPortMappingDescription", entry.description),
     ("NewLeaseDuration", String(entry.leaseDuration))]
  }
}

/// An action's arguments, read as their state variables' types; a missing or malformed one is
/// Invalid Args (402).
struct Arguments {
  let values: [String: String]

  init(_ values: [String: String]) { self.values = values }

  func number<T: FixedWidthInteger>(_ name: String, as type: T.Type) -> T? {
    values[name].flatMap { T(trimmed($0)) }
  }

  func flag(_ name: String) -> Bool? {
    switch values[name].map(trimmed) {
    case "1", "true", "yes": true
    case "0", "false", "no": false
    default: nil
    }
  }

  func transport(_ name: String = "NewProtocol") -> MappedProtocol? {
    switch values[name].map(trimmed)?.uppercased() {
    case "TCP": .tcp
    case "UDP": .udp
    default: nil
    }
  }

  static func name(_ transport: MappedProtocol) -> String { transport == .tcp ? "TCP" : "UDP" }

  /// NewExternalPort and NewProtocol.
  func mappingKey() -> Result<(UInt16, MappedProtocol), IGD.Failure> {
    guard let port = number("NewExternalPort", as: UInt16.self), let transport = transport() else {
      return .failure(.invalidArguments)
    }
    return .success((port, transport))
  }

  /// NewStartPort, NewEndPort and NewProtocol.
  func range() -> Result<(ClosedRange<UInt16>, MappedProtocol), IGD.Failure> {
    guard let low = number("NewStartPort", as: UInt16.self), let high = number("NewEndPort", as: UInt16.self),
      let transport = transport()
    else { return .failure(.invalidArguments) }
    guard low <= high else { return .failure(.inconsistentParameters) }
    return .success((low...high, transport))
  }

  /// AddPortMapping's and AddAnyPortMapping's arguments.
  func request() -> Result<IGD.Request, IGD.Failure> {
    guard case .success(let (port, transport)) = mappingKey(), let internalPort = number("NewInternalPort", as: UInt16.self),
      let client = values["NewInternalClient"].flatMap({ IPAddress.parseIPv4(Substring(trimmed($0))) }),
      let lease = number("NewLeaseDuration", as: UInt32.self)
    else { return .failure(.invalidArguments) }
    // NewEnabled 0 asks for a mapping that does nothing; there is no such thing here.
    guard flag("NewEnabled") ?? true else { return .failure(.invalidArguments) }
    var request = IGD.Request(externalPort: port, transport: transport, internalClient: client, internalPort: internalPort,
                              leaseDuration: lease, description: values["NewPortMappingDescription"] ?? "")
    let remote = values["NewRemoteHost"].map(trimmed) ?? ""
    request.remoteHostIsWildcard = remote.isEmpty || remote == "*" || remote == "0.0.0.0"
    return .success(request)
  }

  private func trimmed(_ text: String) -> String { String(Substring(text).trimmingSpaces) }
}
