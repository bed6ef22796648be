import Foundation
import FoundationXML

/// SOAP 1.1 as UPnP control uses it: one action element in the envelope's body, its arguments
/// as child elements of text. Read with libxml2 through XMLParser, never by string scanning;
/// a document type declaration (which SOAP forbids, §3, and which alone could declare
/// entities) is refused before the parser sees the body.
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
    // `<!DOCTYPE` is the only way in for a DTD; SOAP messages never carry one.
    if body.firstRange(of: Array("<!DOCTYPE".utf8)) != nil { return .failure(.documentTypeDeclaration) }
    // Foundation's XMLParser runs libxml2 in recovery mode and traps on a name that is not
    // UTF-8, which another encoding or broken bytes would give it: UTF-8 only, checked here.
    guard let text = String(validating: body, as: UTF8.self) else { return .failure(.malformed("not UTF-8")) }
    if let declared = declaredEncoding(text), declared.lowercased() != "utf-8" {
      return .failure(.malformed("encoding \(declared): UPnP control is UTF-8"))
    }
    let reader = ActionReader()
    let parser = XMLParser(data: Data(body))
    parser.shouldProcessNamespaces = true
    parser.shouldResolveExternalEntities = false
    parser.delegate = reader
    let parsed = parser.parse()
    if let problem = reader.problem { return .failure(.malformed(problem)) }
    guard parsed else { return .failure(.malformed(parser.parserError.map { "\($0.localizedDescription)" } ?? "not XML")) }
    guard let action = reader.action else { return .failure(.noAction) }
    return .success(action)
  }

  /// The encoding an XML declaration names (`<?xml version="1.0" encoding="…"?>`), if any.
  static func declaredEncoding(_ text: String) -> Substring? {
    guard text.hasPrefix("<?xml"), let end = text.range(of: "?>") else { return nil }
    let declaration = text[..<end.lowerBound]
    guard let name = declaration.range(of: "encoding") else { return nil }
    let rest = declaration[name.upperBound...].drop { $0 == " " || $0 == "=" }
    guard let quote = rest.first, quote == "\"" || quote == "'" else { return rest }
    return rest.dropFirst().prefix { $0 != quote }
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

/// Finds Envelope › Body › action › arguments; anything deeper, or a second action, is a
/// malformed request.
private final class ActionReader: NSObject, XMLParserDelegate {
  var action: SOAP.Action?
  var problem: String?
  private var path: [String] = []
  private var text = ""

  func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
              attributes: [String: String] = [:]) {
    path.append(name)
    switch path.count {
    case 1 where name != "Envelope" || namespaceURI != SOAP.envelopeNamespace: fail(parser, "not a SOAP envelope")
    case 2 where name == "Header": break
    case 2 where name != "Body": fail(parser, "expected the SOAP body")
    case 3 where path[1] == "Body":
      guard action == nil else { return fail(parser, "more than one action") }
      action = SOAP.Action(serviceType: namespaceURI ?? "", name: name, arguments: [:])
    case 4 where path[1] == "Body": text = ""
    case 5... where path[1] == "Body": fail(parser, "an argument holds elements")
    default: break
    }
  }

  func parser(_ parser: XMLParser, foundCharacters string: String) {
    if path.count == 4 { text += string }
  }

  func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
    if path.count == 4, path[1] == "Body" {
      guard action?.arguments[name] == nil else { return fail(parser, "argument \(name) given twice") }
      action?.arguments[name] = text
    }
    path.removeLast()
  }

  private func fail(_ parser: XMLParser, _ reason: String) {
    if problem == nil { problem = reason }
    parser.abortParsing()
  }
}
