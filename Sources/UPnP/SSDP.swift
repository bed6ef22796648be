/// SSDP (UPnP Device Architecture 1.1 §1): discovery over multicast UDP. The gateway answers
/// M-SEARCH for what it is, and says NOTIFY alive and byebye. So that it can never be turned
/// into an amplifier, a search gets one answer (even `ssdp:all`, which the specification
/// answers with one message per device and service), and the daemon limits how many it sends.
public enum SSDP {
  public static let group = "239.255.255.250"
  public static let port = 1900
  /// A search longer than this is no search.
  static let maximumSearch = 2048

  /// What a gateway of IGD version 1 or 2 is, as search targets, device first.
  public static func targets(version: Int) -> [String] {
    ["upnp:rootdevice", "urn:schemas-upnp-org:device:InternetGatewayDevice:\(version)",
     "urn:schemas-upnp-org:device:WANDevice:\(version)", "urn:schemas-upnp-org:device:WANConnectionDevice:\(version)",
     "urn:schemas-upnp-org:service:WANIPConnection:\(version)",
     "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1"]
  }

  /// An M-SEARCH's search target, or nil for anything else (a NOTIFY, a response, garbage).
  public static func searchTarget(_ datagram: [UInt8]) -> String? {
    guard datagram.count <= maximumSearch, let text = String(validating: datagram, as: UTF8.self) else { return nil }
    // "\r\n" is one Character in Swift.
    let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
    guard lines.first == "M-SEARCH * HTTP/1.1" else { return nil }
    var headers: [String: Substring] = [:]
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers[line[..<colon].trimmingSpaces.lowercased()] = line[line.index(after: colon)...].trimmingSpaces
    }
    guard headers["man"] == "\"ssdp:discover\"", let target = headers["st"], !target.isEmpty else { return nil }
    return String(target)
  }

  /// The answer to a search for `target`, or nil when the gateway is not that. `ssdp:all` is
  /// answered as `upnp:rootdevice`.
  public static func answer(to target: String, device: DeviceIdentity) -> [UInt8]? {
    let answered: String
    if target == "ssdp:all" {
      answered = "upnp:rootdevice"
    } else if target == "uuid:\(device.uuid)" || answerable(target) {
      answered = target
    } else {
      return nil
    }
    return message([
      "HTTP/1.1 200 OK", "CACHE-CONTROL: max-age=\(device.maximumAge)", "EXT:",
      "LOCATION: \(device.location(version: targets(version: 1).contains(answered) && answered != "upnp:rootdevice" ? 1 : 2))",
      "SERVER: \(device.server)", "ST: \(answered)", "USN: \(usn(answered, device))", "BOOTID.UPNP.ORG: \(device.bootID)",
      "CONFIGID.UPNP.ORG: 1",
    ])
  }

  /// The gateway is IGD:2, and IGD:1 for clients that know only that: a search for a version 1
  /// type is answered with the version 1 description's location.
  private static func answerable(_ target: String) -> Bool {
    targets(version: 1).contains(target) || targets(version: 2).contains(target)
  }

  /// NOTIFY for every target of both versions and the device itself: `ssdp:alive`, or
  /// `ssdp:byebye` at exit.
  public static func notifications(alive: Bool, device: DeviceIdentity) -> [[UInt8]] {
    let versioned = targets(version: 2).map { ($0, 2) } + targets(version: 1).dropFirst().dropLast().map { ($0, 1) }
    return ([("uuid:\(device.uuid)", 2)] + versioned).map { target, version in
      var lines = ["NOTIFY * HTTP/1.1", "HOST: \(group):\(port)", "NT: \(target)",
                   "NTS: \(alive ? "ssdp:alive" : "ssdp:byebye")", "USN: \(usn(target, device))",
                   "BOOTID.UPNP.ORG: \(device.bootID)", "CONFIGID.UPNP.ORG: 1"]
      if alive {
        lines.insert(contentsOf: ["CACHE-CONTROL: max-age=\(device.maximumAge)",
                                  "LOCATION: \(device.location(version: version))", "SERVER: \(device.server)"], at: 2)
      }
      return message(lines)
    }
  }

  private static func usn(_ target: String, _ device: DeviceIdentity) -> String {
    target.hasPrefix("uuid:") ? target : "uuid:\(device.uuid)::\(target)"
  }

  private static func message(_ lines: [String]) -> [UInt8] { Array((lines + ["", ""]).joined(separator: "\r\n").utf8) }
}

/// What SSDP tells about the gateway on one internal network.
public struct DeviceIdentity: Sendable, Equatable {
  public var uuid: String
  /// `http://ADDRESS:PORT` of the description server on that network's listen address.
  public var baseURL: String
  /// Seconds a control point may trust an announcement; NOTIFY alive repeats within it.
  public var maximumAge = 1800
  /// Changes at each start (UDA 1.1 BOOTID.UPNP.ORG).
  public var bootID: Int
  public var server = "Linux UPnP/1.1 ipnat-natpmpd/1"

  public init(uuid: String, baseURL: String, bootID: Int) {
    self.uuid = uuid
    self.baseURL = baseURL
    self.bootID = bootID
  }

  /// The device description of IGD version 1 or 2.
  public func location(version: Int) -> String { baseURL + Description.rootPath(version: version) }
}

extension Substring {
  /// Without blanks and line ends at either end.
  var trimmingSpaces: Substring {
    var trimmed = self
    while let first = trimmed.first, first.isWhitespace { trimmed.removeFirst() }
    while let last = trimmed.last, last.isWhitespace { trimmed.removeLast() }
    return trimmed
  }
}
