/// The gateway's description documents (UDA §2): the device tree InternetGatewayDevice ›
/// WANDevice (with WANCommonInterfaceConfig, without which stock clients do not take the
/// device for a gateway) › WANConnectionDevice (with WANIPConnection), in version 1 and 2, and
/// each service's action list (SCPD).
public enum Description {
  public static func rootPath(version: Int) -> String { "/igd\(version).xml" }
  public static func connectionSCPDPath(version: Int) -> String { "/WANIPCn\(version).xml" }
  public static let interfaceSCPDPath = "/WANCfg.xml"
  public static let connectionControlPath = "/ctl/IPConn"
  public static let interfaceControlPath = "/ctl/CmnIfCfg"

  public static func connectionService(version: Int) -> String { "urn:schemas-upnp-org:service:WANIPConnection:\(version)" }
  public static let interfaceService = "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1"

  /// The root description of IGD `version`, for the device `uuid` (its embedded devices take
  /// the same UUID with their own last digits, as UDNs must differ).
  public static func root(version: Int, uuid: String) -> String {
    func device(_ type: String, _ number: Int, _ services: String, _ children: String) -> String {
      let udn = String(uuid.dropLast()) + String(number)
      return """
        <device><deviceType>urn:schemas-upnp-org:device:\(type):\(version)</deviceType>\
        <friendlyName>ipnat gateway</friendlyName><manufacturer>ipnat</manufacturer>\
        <modelName>ipnat natpmpd</modelName><UDN>uuid:\(udn)</UDN>\
        <serviceList>\(services)</serviceList>\(children.isEmpty ? "" : "<deviceList>\(children)</deviceList>")</device>
        """
    }
    func service(_ type: String, _ id: String, _ scpd: String, _ control: String) -> String {
      "<service><serviceType>\(type)</serviceType><serviceId>urn:upnp-org:serviceId:\(id)</serviceId>"
        + "<SCPDURL>\(scpd)</SCPDURL><controlURL>\(control)</controlURL><eventSubURL></eventSubURL></service>"
    }
    let connection = device("WANConnectionDevice", 2,
                            service(connectionService(version: version), "WANIPConn1", connectionSCPDPath(version: version),
                                    connectionControlPath), "")
    let wan = device("WANDevice", 1, service(interfaceService, "WANCommonIFC1", interfaceSCPDPath, interfaceControlPath),
                     connection)
    let gateway = device("InternetGatewayDevice", 0, "", wan)
    return """
      <?xml version="1.0"?>
      <root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>\(version == 2 ? 1 : 0)</minor></specVersion>\
      \(gateway)</root>

      """
  }

  /// An action's arguments: name, whether it is an out argument, related state variable.
  typealias Argument = (name: String, out: Bool, variable: String)

  static let connectionActions: [(name: String, version: Int, arguments: [Argument])] = {
    let mappingKey: [Argument] = [("NewRemoteHost", false, "RemoteHost"), ("NewExternalPort", false, "ExternalPort"),
                                  ("NewProtocol", false, "PortMappingProtocol")]
    let mappingValue: [Argument] = [("NewInternalPort", true, "InternalPort"), ("NewInternalClient", true, "InternalClient"),
                                    ("NewEnabled", true, "PortMappingEnabled"),
                                    ("NewPortMappingDescription", true, "PortMappingDescription"),
                                    ("NewLeaseDuration", true, "PortMappingLeaseDuration")]
    let request = mappingKey + mappingValue.map { ($0.name, false, $0.variable) }
    return [
      ("GetConnectionTypeInfo", 1, [("NewConnectionType", true, "ConnectionType"),
                                    ("NewPossibleConnectionTypes", true, "PossibleConnectionTypes")]),
      ("GetStatusInfo", 1, [("NewConnectionStatus", true, "ConnectionStatus"),
                            ("NewLastConnectionError", true, "LastConnectionError"), ("NewUptime", true, "Uptime")]),
      ("GetExternalIPAddress", 1, [("NewExternalIPAddress", true, "ExternalIPAddress")]),
      ("GetGenericPortMappingEntry", 1, [("NewPortMappingIndex", false, "PortMappingNumberOfEntries")]
        + mappingKey.map { ($0.name, true, $0.variable) } + mappingValue),
      ("GetSpecificPortMappingEntry", 1, mappingKey + mappingValue),
      ("AddPortMapping", 1, request),
      ("DeletePortMapping", 1, mappingKey),
      ("AddAnyPortMapping", 2, request + [("NewReservedPort", true, "ExternalPort")]),
      ("DeletePortMappingRange", 2, [("NewStartPort", false, "ExternalPort"), ("NewEndPort", false, "ExternalPort"),
                                     ("NewProtocol", false, "PortMappingProtocol"), ("NewManage", false, "A_ARG_TYPE_Manage")]),
      ("GetListOfPortMappings", 2, [("NewStartPort", false, "ExternalPort"), ("NewEndPort", false, "ExternalPort"),
                                    ("NewProtocol", false, "PortMappingProtocol"), ("NewManage", false, "A_ARG_TYPE_Manage"),
                                    ("NewNumberOfPorts", false, "PortMappingNumberOfEntries"),
                                    ("NewPortListing", true, "A_ARG_TYPE_PortListing")]),
    ]
  }()

  static let connectionVariables: [(name: String, type: String)] = [
    ("ConnectionType", "string"), ("PossibleConnectionTypes", "string"), ("ConnectionStatus", "string"),
    ("Uptime", "ui4"), ("LastConnectionError", "string"), ("ExternalIPAddress", "string"),
    ("PortMappingNumberOfEntries", "ui2"), ("PortMappingEnabled", "boolean"), ("PortMappingLeaseDuration", "ui4"),
    ("RemoteHost", "string"), ("ExternalPort", "ui2"), ("InternalPort", "ui2"), ("PortMappingProtocol", "string"),
    ("InternalClient", "string"), ("PortMappingDescription", "string"), ("A_ARG_TYPE_Manage", "boolean"),
    ("A_ARG_TYPE_PortListing", "string"),
  ]

  static let interfaceActions: [(name: String, version: Int, arguments: [Argument])] = [
    ("GetCommonLinkProperties", 1, [("NewWANAccessType", true, "WANAccessType"),
                                    ("NewLayer1UpstreamMaxBitRate", true, "Layer1UpstreamMaxBitRate"),
                                    ("NewLayer1DownstreamMaxBitRate", true, "Layer1DownstreamMaxBitRate"),
                                    ("NewPhysicalLinkStatus", true, "PhysicalLinkStatus")]),
    ("GetTotalBytesSent", 1, [("NewTotalBytesSent", true, "TotalBytesSent")]),
    ("GetTotalBytesReceived", 1, [("NewTotalBytesReceived", true, "TotalBytesReceived")]),
    ("GetTotalPacketsSent", 1, [("NewTotalPacketsSent", true, "TotalPacketsSent")]),
    ("GetTotalPacketsReceived", 1, [("NewTotalPacketsReceived", true, "TotalPacketsReceived")]),
  ]

  static let interfaceVariables: [(name: String, type: String)] = [
    ("WANAccessType", "string"), ("Layer1UpstreamMaxBitRate", "ui4"), ("Layer1DownstreamMaxBitRate", "ui4"),
    ("PhysicalLinkStatus", "string"), ("TotalBytesSent", "ui4"), ("TotalBytesReceived", "ui4"),
    ("TotalPacketsSent", "ui4"), ("TotalPacketsReceived", "ui4"),
  ]

  /// WANIPConnection's SCPD in `version`: version 2 adds its four actions.
  public static func connectionSCPD(version: Int) -> String {
    scpd(connectionActions.filter { $0.version <= version }, connectionVariables)
  }

  public static let interfaceSCPD = scpd(interfaceActions, interfaceVariables)

  private static func scpd(_ actions: [(name: String, version: Int, arguments: [Argument])],
                           _ variables: [(name: String, type: String)]) -> String {
    let actionList = actions.map { action in
      let arguments = action.arguments.map {
        "<argument><name>\($0.name)</name><direction>\($0.out ? "out" : "in")</direction>"
          + "<relatedStateVariable>\($0.variable)</relatedStateVariable></argument>"
      }.joined()
      return "<action><name>\(action.name)</name><argumentList>\(arguments)</argumentList></action>"
    }.joined()
    let table = variables.map {
      "<stateVariable sendEvents=\"no\"><name>\($0.name)</name><dataType>\($0.type)</dataType></stateVariable>"
    }.joined()
    return """
      <?xml version="1.0"?>
      <scpd xmlns="urn:schemas-upnp-org:service-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>\
      <actionList>\(actionList)</actionList><serviceStateTable>\(table)</serviceStateTable></scpd>

      """
  }
}
