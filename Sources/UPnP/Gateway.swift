import IPAddressing
import NATPMP

/// The description and control server's decisions, with no network of its own: the daemon
/// hands it each HTTP request (already limited in size) and sends back the answer, so every
/// rule is testable without sockets.
public final class Gateway {
  public struct Answer: Equatable {
    public var status: Int
    public var body: [UInt8]
    /// One line for the log when the request changed mappings.
    public var event: String?

    public init(status: Int, body: [UInt8], event: String? = nil) {
      (self.status, self.body, self.event) = (status, body, event)
    }

    static func xml(_ text: String, status: Int = 200, event: String? = nil) -> Answer {
      Answer(status: status, body: Array(text.utf8), event: event)
    }
  }

  /// The external interface's counters, for WANCommonInterfaceConfig.
  public struct Counters: Sendable {
    public var bytesSent: UInt64 = 0, bytesReceived: UInt64 = 0, packetsSent: UInt64 = 0, packetsReceived: UInt64 = 0
    public init() {}
  }

  let service: NATPMPService
  public let uuid: String
  let counters: () -> Counters
  /// When the daemon started, in its clock's milliseconds: GetStatusInfo's uptime.
  let start: UInt64

  public init(service: NATPMPService, uuid: String, start: UInt64, counters: @escaping () -> Counters) {
    self.service = service
    self.uuid = uuid
    self.start = start
    self.counters = counters
  }

  public func respond(method: String, path: String, soapAction: String?, body: [UInt8], from client: UInt32,
                      now: UInt64) -> Answer {
    switch (method, path) {
    case ("GET", Description.rootPath(version: 1)): .xml(Description.root(version: 1, uuid: uuid))
    case ("GET", Description.rootPath(version: 2)): .xml(Description.root(version: 2, uuid: uuid))
    case ("GET", Description.connectionSCPDPath(version: 1)): .xml(Description.connectionSCPD(version: 1))
    case ("GET", Description.connectionSCPDPath(version: 2)): .xml(Description.connectionSCPD(version: 2))
    case ("GET", Description.interfaceSCPDPath): .xml(Description.interfaceSCPD)
    case ("POST", Description.connectionControlPath), ("POST", Description.interfaceControlPath):
      control(path: path, soapAction: soapAction, body: body, from: client, now: now)
    case (_, Description.connectionControlPath), (_, Description.interfaceControlPath):
      // SUBSCRIBE among them: no eventing, so no callback to any URL a request names.
      Answer(status: 405, body: [])
    default:
      Answer(status: 404, body: [])
    }
  }

  private func control(path: String, soapAction: String?, body: [UInt8], from client: UInt32, now: UInt64) -> Answer {
    let action: SOAP.Action
    switch SOAP.action(in: body) {
    case .success(let read): action = read
    case .failure: return fault(.invalidArguments)
    }
    // The SOAPACTION header names the same action ("SERVICE#ACTION"), quoted.
    guard let soapAction, Self.unquoted(soapAction) == "\(action.serviceType)#\(action.name)" else {
      return fault(.invalidArguments)
    }
    let result: Result<[(String, String)], IGD.Failure>
    if path == Description.interfaceControlPath {
      guard action.serviceType == Description.interfaceService else { return fault(code: 401, "Invalid Action") }
      guard let answer = interface(action) else { return fault(code: 401, "Invalid Action") }
      result = .success(answer)
    } else {
      guard let version = [1, 2].first(where: { Description.connectionService(version: $0) == action.serviceType }),
        let answer = connection(action, version: version, from: client, now: now)
      else { return fault(code: 401, "Invalid Action") }
      result = answer
    }
    // The actions that change mappings are logged, done or refused: the record of who asked.
    let changesMappings = Self.changingActions.contains(action.name)
    switch result {
    case .success(let arguments):
      return .xml(SOAP.response(to: action, arguments), event: changesMappings ? describe(action, arguments, client) : nil)
    case .failure(let failure):
      var answer = fault(failure)
      if changesMappings { answer.event = "\(describe(action, [], client)): \(failure.rawValue) \(failure)" }
      return answer
    }
  }

  static let changingActions: Set = ["AddPortMapping", "AddAnyPortMapping", "DeletePortMapping", "DeletePortMappingRange"]

  /// A header's value without its quotes.
  private static func unquoted(_ value: String) -> Substring {
    let trimmed = Substring(value).trimmingSpaces
    return trimmed.count >= 2 && trimmed.hasPrefix("\"") && trimmed.hasSuffix("\"") ? trimmed.dropFirst().dropLast() : trimmed
  }

  private func fault(_ failure: IGD.Failure) -> Answer { fault(code: failure.rawValue, failure.description) }

  private func fault(code: Int, _ description: String) -> Answer {
    .xml(SOAP.fault(code: code, description: description), status: 500)
  }

  private func describe(_ action: SOAP.Action, _ out: [(String, String)], _ client: UInt32) -> String {
    let given = ["NewProtocol", "NewExternalPort", "NewStartPort", "NewEndPort", "NewInternalPort", "NewLeaseDuration",
                 "NewPortMappingDescription"].compactMap { name in action.arguments[name].map { "\(name)=\($0)" } }
    let granted = out.map { "\($0.0)=\($0.1)" }
    return "UPnP \(action.name) from \(IPAddress.formatIPv4(client)): " + (given + granted).joined(separator: " ")
  }

  // MARK: - WANCommonInterfaceConfig

  private func interface(_ action: SOAP.Action) -> [(String, String)]? {
    let counters = counters()
    // The counters are ui4 in the specification: they wrap, as on real gateways.
    func ui4(_ value: UInt64) -> String { String(UInt32(truncatingIfNeeded: value)) }
    switch action.name {
    case "GetCommonLinkProperties":
      return [("NewWANAccessType", "Ethernet"), ("NewLayer1UpstreamMaxBitRate", "0"),
              ("NewLayer1DownstreamMaxBitRate", "0"),
              ("NewPhysicalLinkStatus", service.externalAddress == nil ? "Down" : "Up")]
    case "GetTotalBytesSent": return [("NewTotalBytesSent", ui4(counters.bytesSent))]
    case "GetTotalBytesReceived": return [("NewTotalBytesReceived", ui4(counters.bytesReceived))]
    case "GetTotalPacketsSent": return [("NewTotalPacketsSent", ui4(counters.packetsSent))]
    case "GetTotalPacketsReceived": return [("NewTotalPacketsReceived", ui4(counters.packetsReceived))]
    default: return nil
    }
  }
}
