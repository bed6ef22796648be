import Foundation
import FoundationXML
import IPAddressing
import NATPMP
import TestSupport
import Testing
import UPnP

/// A store that keeps what the service asks of the kernel.
final class MemoryStore: MappingStore {
  var mappings: [Mapping.Key: Mapping] = [:]
  func install(_ mappings: [Mapping], now: UInt64) throws { for mapping in mappings { self.mappings[mapping.key] = mapping } }
  func renew(_ mappings: [Mapping], previous: [Mapping], now: UInt64) throws { try install(mappings, now: now) }
  func remove(_ mappings: [Mapping]) throws { for mapping in mappings { self.mappings[mapping.key] = nil } }
  func rebuild(externalAddress: UInt32?, mappings: [Mapping], now: UInt64) throws {}
  func dropConnections(of mappings: [Mapping], _ which: ConnectionsToDrop, externalAddress: UInt32) throws {}
}

@Suite struct SSDPTests {
  static let device = DeviceIdentity(uuid: "01234567-89ab-cdef-0123-456789abcdef", baseURL: "http://10.0.0.1:5000", bootID: 7)

  static func search(_ target: String, man: String = "\"ssdp:discover\"") -> [UInt8] {
    Array("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \(man)\r\nMX: 2\r\nST: \(target)\r\n\r\n".utf8)
  }

  static func headers(_ answer: [UInt8]?) -> [String: String] {
    let lines = String(decoding: answer ?? [], as: UTF8.self).components(separatedBy: "\r\n")
    return Dictionary(lines.dropFirst().compactMap { line in
      line.firstIndex(of: ":").map { (String(line[..<$0]), String(line[line.index(after: $0)...]).trimmingCharacters(in: .whitespaces)) }
    }, uniquingKeysWith: { first, _ in first })
  }

  @Test func readsSearchesAndNothingElse() {
    #expect(SSDP.searchTarget(Self.search("upnp:rootdevice")) == "upnp:rootdevice")
    #expect(SSDP.searchTarget(Self.search("upnp:rootdevice", man: "ssdp:discover")) == nil, "MAN is quoted")
    #expect(SSDP.searchTarget(Array("NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\n\r\n".utf8)) == nil)
    #expect(SSDP.searchTarget(Self.search(String(repeating: "x", count: 3000))) == nil, "too long to be a search")
    #expect(SSDP.searchTarget([0xff, 0xfe, 0x00]) == nil)
  }

  /// One answer per search, whatever it asks for, and the description of the version asked.
  @Test func answersOnceWithTheVersionAskedFor() throws {
    let version1 = SSDP.answer(to: "urn:schemas-upnp-org:device:InternetGatewayDevice:1", device: Self.device)
    #expect(Self.headers(version1)["LOCATION"] == "http://10.0.0.1:5000/igd1.xml")
    #expect(Self.headers(version1)["USN"] == "uuid:\(Self.device.uuid)::urn:schemas-upnp-org:device:InternetGatewayDevice:1")
    let version2 = SSDP.answer(to: "urn:schemas-upnp-org:service:WANIPConnection:2", device: Self.device)
    #expect(Self.headers(version2)["LOCATION"] == "http://10.0.0.1:5000/igd2.xml")
    let all = try #require(SSDP.answer(to: "ssdp:all", device: Self.device))
    #expect(Self.headers(all)["ST"] == "upnp:rootdevice")
    #expect(all.count < 400, "an answer stays small: \(all.count) bytes")
    #expect(SSDP.answer(to: "urn:schemas-upnp-org:device:MediaServer:1", device: Self.device) == nil)
  }

  @Test func notifiesAliveWithLocationAndByebyeWithout() {
    let alive = SSDP.notifications(alive: true, device: Self.device)
    let byebye = SSDP.notifications(alive: false, device: Self.device)
    #expect(alive.count == byebye.count && alive.count == 11, "the device, six version 2 targets, four version 1 ones")
    #expect(alive.allSatisfy { Self.headers($0)["NTS"] == "ssdp:alive" && Self.headers($0)["LOCATION"] != nil })
    #expect(byebye.allSatisfy { Self.headers($0)["NTS"] == "ssdp:byebye" && Self.headers($0)["LOCATION"] == nil })
  }
}

@Suite struct SOAPTests {
  static func envelope(_ action: String, _ arguments: String = "",
                       service: String = "urn:schemas-upnp-org:service:WANIPConnection:1") -> [UInt8] {
    Array("""
      <?xml version="1.0"?>
      <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">\
      <s:Body><u:\(action) xmlns:u="\(service)">\(arguments)</u:\(action)></s:Body></s:Envelope>
      """.utf8)
  }

  @Test func readsTheActionAndItsArguments() throws {
    let body = Self.envelope("AddPortMapping", "<NewExternalPort> 40000 </NewExternalPort><NewProtocol>UDP</NewProtocol>")
    let action = try SOAP.action(in: body).get()
    #expect(action.name == "AddPortMapping" && action.serviceType == "urn:schemas-upnp-org:service:WANIPConnection:1")
    #expect(action.arguments == ["NewExternalPort": " 40000 ", "NewProtocol": "UDP"])
  }

  /// Hostile documents: entity expansion, a DTD, malformed or odd envelopes; each an error.
  @Test func refusesHostileAndMalformedDocuments() {
    let laughs = """
      <?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\
      <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">\
      <s:Body><u:GetStatusInfo xmlns:u="x"><NewX>&c;</NewX></u:GetStatusInfo></s:Body></s:Envelope>
      """
    #expect(SOAP.action(in: Array(laughs.utf8)) == .failure(.documentTypeDeclaration))
    let external = "<?xml version=\"1.0\"?><!DOCTYPE x SYSTEM \"file:///etc/passwd\"><x/>"
    #expect(SOAP.action(in: Array(external.utf8)) == .failure(.documentTypeDeclaration))
    for bad in ["", "not xml", "<a><b></a>", "<s:Envelope xmlns:s=\"urn:other\"><s:Body/></s:Envelope>"] {
      guard case .failure = SOAP.action(in: Array(bad.utf8)) else {
        Issue.record("accepted \(bad)")
        continue
      }
    }
    var broken = Self.envelope("GetStatusInfo", "<NewX>1</NewX>")
    broken.replaceSubrange(broken.count - 30..<broken.count - 28, with: [0xf1, 0xc2])
    #expect(SOAP.action(in: broken) == .failure(.malformed("not UTF-8 at byte 0")))
    let latin1 = Array("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><x/>".utf8)
    #expect(SOAP.action(in: latin1) == .failure(.malformed("an encoding other than UTF-8 at byte 0")))
    let empty = Array("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body></s:Body></s:Envelope>".utf8)
    #expect(SOAP.action(in: empty) == .failure(.noAction))
    let nested = Self.envelope("GetStatusInfo", "<NewX><Deeper/></NewX>")
    #expect(SOAP.action(in: nested) == .failure(.malformed("an argument holds elements")))
    let twice = Self.envelope("GetStatusInfo", "<NewX>1</NewX><NewX>2</NewX>")
    #expect(SOAP.action(in: twice) == .failure(.malformed("argument NewX given twice")))
  }

  @Test func escapesWhatItWrites() throws {
    let action = SOAP.Action(serviceType: "urn:x", name: "GetX", arguments: [:])
    let response = SOAP.response(to: action, [("NewDescription", "a<b>&\"c\"")])
    #expect(response.contains("<NewDescription>a&lt;b&gt;&amp;&quot;c&quot;</NewDescription>"))
    #expect(XMLParser(data: Data(response.utf8)).parse())
    #expect(XMLParser(data: Data(SOAP.fault(code: 718, description: "Conflict <x>").utf8)).parse())
  }
}

/// The control server's answers, against a service with the external address 192.0.2.1.
@Suite struct GatewayTests {
  static let alice: UInt32 = 0x0A00_0002
  static let bob: UInt32 = 0x0A00_0003
  let store = MemoryStore()
  let service: NATPMPService
  let gateway: Gateway

  init() throws {
    var configuration = DaemonConfiguration(externalInterface: "wan0", listenAddresses: [0x0A00_0001])
    configuration.permissions = [PermissionRule(allows: true, externalPorts: 1024...65535,
                                                network: AddressPrefix(.ipv4(0x0A00_0000), length: 24),
                                                internalPorts: 1024...65535)]
    configuration.lifetimes = 120...7200
    service = NATPMPService(configuration: configuration, store: store, generator: SplitMix64(seed: 3))
    _ = try service.setExternalAddress(0xC000_0201, now: 0)
    gateway = Gateway(service: service, uuid: "01234567-89ab-cdef-0123-456789abcdef", start: 0) { Gateway.Counters() }
  }

  /// Calls an action: its HTTP status and its out arguments (or errorCode) by name.
  func call(_ action: String, _ arguments: [(String, String)] = [], version: Int = 1, from client: UInt32 = alice,
            path: String = "/ctl/IPConn", now: UInt64 = 0) -> (status: Int, values: [String: String]) {
    let service = path == "/ctl/IPConn" ? "urn:schemas-upnp-org:service:WANIPConnection:\(version)"
      : "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1"
    let body = SOAPTests.envelope(action, arguments.map { "<\($0.0)>\(SOAP.escaped($0.1))</\($0.0)>" }.joined(), service: service)
    let answer = gateway.respond(method: "POST", path: path, soapAction: "\"\(service)#\(action)\"", body: body,
                                 from: client, now: now)
    return (answer.status, Self.values(answer.body))
  }

  /// Leaf elements' text by name.
  static func values(_ body: [UInt8]) -> [String: String] {
    final class Reader: NSObject, XMLParserDelegate {
      var values: [String: String] = [:]
      var text = ""
      func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                  attributes: [String: String] = [:]) { text = "" }
      func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
      func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if values[name] == nil { values[name] = text }
        text = ""
      }
    }
    let reader = Reader()
    let parser = XMLParser(data: Data(body))
    parser.delegate = reader
    _ = parser.parse()
    return reader.values
  }

  static func add(_ port: UInt16, _ transport: String = "UDP", client: String = "10.0.0.2", internalPort: UInt16 = 5000,
                  lease: UInt32 = 600) -> [(String, String)] {
    [("NewRemoteHost", ""), ("NewExternalPort", String(port)), ("NewProtocol", transport),
     ("NewInternalPort", String(internalPort)), ("NewInternalClient", client), ("NewEnabled", "1"),
     ("NewPortMappingDescription", "game <1>"), ("NewLeaseDuration", String(lease))]
  }

  @Test func mapsListsAndDeletes() {
    #expect(call("GetExternalIPAddress").values["NewExternalIPAddress"] == "192.0.2.1")
    #expect(call("GetStatusInfo", now: 5000).values["NewUptime"] == "5")
    #expect(call("AddPortMapping", Self.add(40000)).status == 200)
    #expect(store.mappings.values.map(\.externalPort) == [40000], "in the kernel")
    let entry = call("GetSpecificPortMappingEntry", [("NewRemoteHost", ""), ("NewExternalPort", "40000"), ("NewProtocol", "UDP")],
                     now: 100_000)
    #expect(entry.values["NewInternalClient"] == "10.0.0.2" && entry.values["NewInternalPort"] == "5000")
    #expect(entry.values["NewPortMappingDescription"] == "game <1>" && entry.values["NewLeaseDuration"] == "500")
    #expect(call("GetGenericPortMappingEntry", [("NewPortMappingIndex", "0")]).values["NewExternalPort"] == "40000")
    #expect(call("GetGenericPortMappingEntry", [("NewPortMappingIndex", "1")]).values["errorCode"] == "713")
    #expect(call("DeletePortMapping", [("NewRemoteHost", ""), ("NewExternalPort", "40000"), ("NewProtocol", "UDP")],
                 from: Self.bob).values["errorCode"] == "606", "only its own")
    #expect(call("DeletePortMapping", [("NewRemoteHost", ""), ("NewExternalPort", "40000"), ("NewProtocol", "UDP")]).status == 200)
    #expect(store.mappings.isEmpty)
    #expect(call("DeletePortMapping", [("NewRemoteHost", ""), ("NewExternalPort", "40000"), ("NewProtocol", "UDP")])
      .values["errorCode"] == "714")
  }

  /// The note the kernel's element carries says who asked and what for, and a restarted
  /// daemon that adopts the mapping reads it back.
  @Test func notesOutliveTheDaemon() throws {
    #expect(call("AddPortMapping", Self.add(40000)).status == 200)
    let mapping = try #require(store.mappings.values.first)
    let note = service.note(for: mapping.key)
    #expect(note == "UPnP: game <1>")
    let next = NATPMPService(configuration: service.configuration, store: MemoryStore())
    next.adopt([mapping], notes: [mapping.key: note])
    #expect(next.portMappingEntry(externalPort: 40000, transport: .udp, now: 0)?.description == "game <1>")
    #expect(MappingOrigin.read("NAT-PMP")! == (.natpmp, "") && MappingOrigin.read("PCP: x")! == (.pcp, "x"))
    #expect(MappingOrigin.read("something else") == nil)
  }

  @Test func refusesWhatItMust() {
    #expect(call("AddPortMapping", Self.add(40000, client: "10.0.0.3")).values["errorCode"] == "606", "another host")
    #expect(call("AddPortMapping", Self.add(80, internalPort: 80)).values["errorCode"] == "606", "not permitted")
    #expect(call("AddPortMapping", Self.add(40000)).status == 200)
    #expect(call("AddPortMapping", Self.add(40000, internalPort: 5001)).values["errorCode"] == "718", "taken")
    #expect(call("AddPortMapping", Self.add(40000, internalPort: 5002), from: Self.bob).values["errorCode"] == "606")
    #expect(call("AddPortMapping", Self.add(0)).values["errorCode"] == "716")
    #expect(call("AddPortMapping", Self.add(40001, "SCTP")).values["errorCode"] == "402")
    #expect(call("AddPortMapping", [("NewExternalPort", "x")]).values["errorCode"] == "402")
    #expect(call("AddAnyPortMapping", Self.add(40000)).values["errorCode"] == "401", "a version 2 action")
    #expect(call("Reboot").values["errorCode"] == "401")
    let wrongHeader = gateway.respond(method: "POST", path: "/ctl/IPConn", soapAction: "\"urn:x#GetStatusInfo\"",
                                      body: SOAPTests.envelope("GetStatusInfo"), from: Self.alice, now: 0)
    #expect(Self.values(wrongHeader.body)["errorCode"] == "402")
    #expect(gateway.respond(method: "SUBSCRIBE", path: "/ctl/IPConn", soapAction: nil, body: [], from: Self.alice, now: 0)
      .status == 405, "no eventing, so no callbacks")
  }

  /// IGD:2: a lease of 0 is the longest one; AddAnyPortMapping moves off a taken port;
  /// GetListOfPortMappings lists the caller's mappings as an XML document in a string.
  @Test func version2ActionsAndLeases() throws {
    #expect(call("AddPortMapping", Self.add(40000, lease: 0), version: 2).status == 200)
    #expect(store.mappings.values.first?.expiry == 7_200_000, "the configured maximum")
    let moved = call("AddAnyPortMapping", Self.add(40000, internalPort: 5001), version: 2, from: Self.alice)
    #expect(moved.status == 200 && moved.values["NewReservedPort"] != "40000")
    let listing = call("GetListOfPortMappings", [("NewStartPort", "1"), ("NewEndPort", "65535"), ("NewProtocol", "UDP"),
                                                 ("NewManage", "0"), ("NewNumberOfPorts", "0")], version: 2)
    let document = try #require(listing.values["NewPortListing"])
    #expect(Self.values(Array(document.utf8))["p:NewExternalPort"] == "40000")
    #expect(document.components(separatedBy: "<p:PortMappingEntry>").count == 3)
    #expect(call("GetListOfPortMappings", [("NewStartPort", "1"), ("NewEndPort", "65535"), ("NewProtocol", "UDP"),
                                           ("NewManage", "0"), ("NewNumberOfPorts", "0")], version: 2, from: Self.bob)
      .values["errorCode"] == "730")
    #expect(call("DeletePortMappingRange", [("NewStartPort", "1"), ("NewEndPort", "65535"), ("NewProtocol", "UDP"),
                                            ("NewManage", "0")], version: 2).status == 200)
    #expect(store.mappings.isEmpty)
  }

  /// The descriptions are XML, and name what stock clients look for.
  @Test func describesTheGatewayInBothVersions() {
    for version in [1, 2] {
      let root = gateway.respond(method: "GET", path: "/igd\(version).xml", soapAction: nil, body: [], from: Self.alice, now: 0)
      #expect(root.status == 200 && XMLParser(data: Data(root.body)).parse())
      let text = String(decoding: root.body, as: UTF8.self)
      for type in ["device:InternetGatewayDevice:\(version)", "service:WANIPConnection:\(version)",
                   "service:WANCommonInterfaceConfig:1", "<controlURL>/ctl/IPConn</controlURL>"] {
        #expect(text.contains(type), "\(type)")
      }
      let scpd = gateway.respond(method: "GET", path: "/WANIPCn\(version).xml", soapAction: nil, body: [], from: Self.alice, now: 0)
      #expect(XMLParser(data: Data(scpd.body)).parse())
      #expect(String(decoding: scpd.body, as: UTF8.self).contains("AddAnyPortMapping") == (version == 2))
    }
    #expect(call("GetCommonLinkProperties", path: "/ctl/CmnIfCfg").values["NewPhysicalLinkStatus"] == "Up")
    #expect(gateway.respond(method: "GET", path: "/etc/passwd", soapAction: nil, body: [], from: Self.alice, now: 0).status == 404)
  }
}

/// The XML reader: what it reads, and every way a document can be wrong.
@Suite struct XMLReaderTests {
  func read(_ text: String) -> Result<XMLReader.Element, XMLReader.Failure> { XMLReader.read(Array(text.utf8)) }

  func reason(_ text: String) -> String? {
    guard case .failure(let failure) = read(text) else { return nil }
    return failure.reason
  }

  @Test func readsElementsNamespacesTextAndReferences() throws {
    let text = """
      \u{FEFF}<?xml version="1.0" encoding='utf-8'?>
      <!-- a comment -->
      <a:root xmlns:a="urn:a" xmlns="urn:default" id='1'>
        <child>x &lt;&gt;&amp;&quot;&apos; &#65;&#x42; <![CDATA[<raw>&]]></child><!-- inside -->
        <b:other xmlns:b="urn:b"/><empty></empty>
      </a:root>
      """
    let root = try read(text).get()
    #expect(root.name == "root" && root.namespace == "urn:a" && root.attributes == ["id": "1"])
    #expect(root.children.map { $0.name } == ["child", "other", "empty"])
    #expect(root.children[0].namespace == "urn:default" && root.children[1].namespace == "urn:b")
    #expect(root.children[0].text == "x <>&\"' AB <raw>&")
  }

  @Test func refusesWhatIsNotWellFormedOrNotAllowed() {
    let cases: [(String, String)] = [
      ("<a><b></a>", "an end tag that does not match b"),
      ("<a>", "an unterminated element a"),
      ("<a/><b/>", "content after the root element"),
      ("<p:a/>", "an undeclared prefix p"),
      ("<a>&ent;</a>", "an undeclared entity ent"),
      ("<a>&#0;</a>", "a reference to no character"),
      ("<a>&#xD800;</a>", "a reference to no character"),
      ("<a x='1' x='2'/>", "attribute x given twice"),
      ("<a x='<'/>", "'<' in an attribute value"),
      ("<a x=1/>", "expected a quoted value"),
      ("<a x='1'y='2'/>", "expected a space before an attribute"),
      ("<!DOCTYPE a><a/>", "a document type declaration"),
      ("<?pi x?><a/>", "a processing instruction"),
      ("<a><?pi?></a>", "a declaration or processing instruction inside an element"),
      ("<?xml version='1.0' encoding='UTF-16'?><a/>", "an encoding other than UTF-8"),
      ("<1a/>", "a name that starts with a digit, '-' or '.'"),
      ("", "expected the root element"),
      ("<a><!-- </a>", "an unterminated comment"),
      ("<a><![CDATA[ </a>", "an unterminated CDATA section"),
    ]
    for (text, expected) in cases {
      #expect(reason(text) == expected, "\(text)")
    }
    if case .failure(let failure) = XMLReader.read([0x3c, 0x61, 0xff, 0x2f, 0x3e]) {
      #expect(failure.reason == "not UTF-8")
    } else {
      Issue.record("bytes that are not UTF-8 were read")
    }
  }

  /// Bounded: deep nesting and floods of elements are refused, in time linear in their size.
  @Test func boundsDepthAndCount() {
    #expect(reason(String(repeating: "<a>", count: 40) + String(repeating: "</a>", count: 40)) == "elements nested too deep")
    #expect(reason("<r>" + String(repeating: "<a/>", count: 5000) + "</r>") == "too many elements")
  }
}
