import NATPMP
import UPnP

/// UPnP's readers of untrusted bytes: an SSDP search, and an HTTP request to the control server
/// (its body read as SOAP). The input is both. A crash, or an answer that breaks the rules,
/// traps: SSDP answers stay small, and the gateway answers every request with a status and,
/// for control, an envelope.
public enum UPnPHarness {
  public static func exercise(_ bytes: [UInt8]) {
    if let target = SSDP.searchTarget(bytes) {
      let device = DeviceIdentity(uuid: "00000000-0000-0000-0000-000000000000", baseURL: "http://10.0.0.1:5000", bootID: 1)
      if let answer = SSDP.answer(to: target, device: device) {
        // Fixed headers, and the target twice (ST and USN): never a multiple of the search.
        precondition(answer.count <= 400 + 2 * target.utf8.count, "an SSDP answer that amplifies: \(answer.count) bytes")
      }
    }
    let configuration = DaemonConfiguration(externalInterface: "wan0", listenAddresses: [0x0A00_0001],
                                            externalPorts: 50000...50063, mappingsPerClient: 16)
    let store = SenderCheckingStore()
    let service = NATPMPService(configuration: configuration, store: store, generator: SystemRandomNumberGenerator())
    _ = try? service.setExternalAddress(0xC000_0201, now: 0)
    let gateway = Gateway(service: service, uuid: "00000000-0000-0000-0000-000000000000", start: 0) { Gateway.Counters() }
    // The SOAPACTION header the body would need, so that its action is carried out.
    let header = (try? SOAP.action(in: bytes).get()).map { "\"\($0.serviceType)#\($0.name)\"" }
    for path in [Description.connectionControlPath, Description.interfaceControlPath] {
      let answer = gateway.respond(method: "POST", path: path, soapAction: header, body: bytes, from: store.sender, now: 0)
      precondition(answer.status == 200 || answer.status == 500, "control answered \(answer.status)")
      precondition(String(decoding: answer.body, as: UTF8.self).contains("s:Envelope"), "control answered no envelope")
    }
  }
}

/// Traps on a mapping for anyone but the sender.
private final class SenderCheckingStore: MappingStore {
  let sender: UInt32 = 0x0A00_0002

  func install(_ mappings: [Mapping], now: UInt64) throws {
    precondition(mappings.allSatisfy { $0.client == sender }, "a mapping for another host than the sender")
  }

  func renew(_ mappings: [Mapping], previous: [Mapping], now: UInt64) throws { try install(mappings, now: now) }
  func remove(_ mappings: [Mapping]) throws {}
  func rebuild(externalAddress: UInt32?, mappings: [Mapping], now: UInt64) throws {}
  func dropConnections(of mappings: [Mapping], _ which: ConnectionsToDrop, externalAddress: UInt32) throws {}
}
