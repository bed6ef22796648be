/// SOAP 1.1 as UPnP control uses it: one action element in the envelope's body, its arguments
/// as child elements of text, read with `XMLReader`. A document type declaration, which SOAP
/// forbids (§3) and which alone could declare entities, is refused.
public enum SOAP {
  public struct Action: Sendable, Equatable {
    /// The service type, from the action element's namespace (`urn:…:WANIPConnection:1`).
    public var serviceType: String
    public var name: String
    public var arguments: [String: String]

    public init(serviceType: String, name: String, arguments: [String: String]) {
      (self.serviceType, self.name, self.arguments) = (serviceType, name, arguments)
    }
  }

  public enum ReadError: Error, Equatable {
    case documentTypeDeclaration
    case malformed(String)
    case noAction
  }

  static let envelopeNamespace = "http://schemas.xmlsoap.org/soap/envelope/"

  /// The action of a request body.
  public static func action(in body: [UInt8]) -> Result<Action, ReadError> {
    if body.firstRange(of: Array("<!DOCTYPE".utf8)) != nil { return .failure(.documentTypeDeclaration) }
    let envelope: XMLReader.Element
    switch XMLReader.read(body) {
    case .failure(let failure): return .failure(.malformed(failure.description))
    case .success(let root): envelope = root
    }
    guard envelope.name == "Envelope", envelope.namespace == envelopeNamespace else {
      return .failure(.malformed("not a SOAP envelope"))
    }
    guard let soapBody = envelope.child("Body", namespace: envelopeNamespace) else {
      return .failure(.malformed("expected the SOAP body"))
    }
    guard let element = soapBody.children.first else { return .failure(.noAction) }
    guard soapBody.children.count == 1 else { return .failure(.malformed("more than one action")) }
    var action = Action(serviceType: element.namespace ?? "", name: element.name, arguments: [:])
    for argument in element.children {
      guard argument.children.isEmpty else { return .failure(.malformed("an argument holds elements")) }
      guard action.arguments[argument.name] == nil else {
        return .failure(.malformed("argument \(argument.name) given twice"))
      }
      action.arguments[argument.name] = argument.text
    }
    return .success(action)
  }

  /// The response to an action: `<u:NAMEResponse>` with the out arguments, in order.
  public static func response(to action: Action, _ arguments: [(String, String)]) -> String {
    let body = arguments.map { "<\($0.0)>\(escaped($0.1))</\($0.0)>" }.joined()
    return envelope("<u:\(action.name)Response xmlns:u=\"\(escaped(action.serviceType))\">\(body)</u:\(action.name)Response>")
  }

  /// A UPnPError fault (UDA §3.2.2): sent with HTTP status 500.
  public static func fault(code: Int, description: String) -> String {
    envelope("""
      <s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>\
      <UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>\(code)</errorCode>\
      <errorDescription>\(escaped(description))</errorDescription></UPnPError></detail></s:Fault>
      """)
  }

  private static func envelope(_ body: String) -> String {
    """
    <?xml version="1.0"?>
    <s:Envelope xmlns:s="\(envelopeNamespace)" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">\
    <s:Body>\(body)</s:Body></s:Envelope>

    """
  }

  /// Text for an element or attribute.
  public static func escaped(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text {
      switch character {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      default: out.append(character)
      }
    }
    return out
  }
}
