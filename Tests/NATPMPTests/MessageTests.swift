import NATPMP
import Testing

/// The wire format of RFC 6886 §3, byte for byte.
@Suite struct MessageTests {
  @Test func readsTheExternalAddressRequest() {
    #expect(InboundMessage.decode([0, 0]) == .externalAddressRequest)
  }

  @Test func readsMappingRequestsInNetworkByteOrder() {
    let request: [UInt8] = [0, 2, 0, 0, 0x13, 0x88, 0xC3, 0x50, 0, 0, 0x0E, 0x10]
    #expect(InboundMessage.decode(request) == .mappingRequest(MappingRequest(
      transport: .tcp, internalPort: 5000, suggestedExternalPort: 50000, lifetime: 3600)))
    #expect(InboundMessage.decode([0, 1] + request.dropFirst(2)) == .mappingRequest(MappingRequest(
      transport: .udp, internalPort: 5000, suggestedExternalPort: 50000, lifetime: 3600)))
  }

  /// Too short to be a request, or a response: dropped. (Longer than a request is answered from
  /// its defined part, below.)
  @Test func dropsWhatIsNotARequestOfTheRightSize() {
    for datagram: [UInt8] in [[], [0], [0, 1, 0, 0], [0, 2] + [UInt8](repeating: 0, count: 9), [0, 128], [0, 129, 0, 0]] {
      guard case .ignored = InboundMessage.decode(datagram) else {
        Issue.record("\(datagram) should be ignored")
        continue
      }
    }
  }

  @Test func readsTheDefinedPartOfALongerRequest() {
    #expect(InboundMessage.decode([0, 0, 7, 7]) == .externalAddressRequest)
    let request: [UInt8] = [0, 2, 0, 0, 0x13, 0x88, 0xC3, 0x50, 0, 0, 0x0E, 0x10, 0xFF, 0xFF]
    #expect(InboundMessage.decode(request) == .mappingRequest(MappingRequest(
      transport: .tcp, internalPort: 5000, suggestedExternalPort: 50000, lifetime: 3600)))
  }

  @Test func flagsOtherVersionsAndOpcodes() {
    #expect(InboundMessage.decode([2, 1]) == .unsupportedVersion(version: 2, opcode: 1))
    #expect(InboundMessage.decode([0, 3, 9, 9]) == .unsupportedOpcode(opcode: 3))
    #expect(InboundMessage.decode([0, 127]) == .unsupportedOpcode(opcode: 127))
  }

  @Test func writesResponses() {
    #expect(Response.externalAddress(0xC000_0201, result: .success, epoch: 0x0102_0304)
      == [0, 128, 0, 0, 1, 2, 3, 4, 192, 0, 2, 1])
    #expect(Response.mapping(.udp, internalPort: 5000, externalPort: 50000, lifetime: 7200, result: .success, epoch: 9)
      == [0, 129, 0, 0, 0, 0, 0, 9, 0x13, 0x88, 0xC3, 0x50, 0, 0, 0x1C, 0x20])
    #expect(Response.mapping(.tcp, internalPort: 1, externalPort: 0, lifetime: 0, result: .outOfResources, epoch: 0)
      == [0, 130, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    #expect(Response.unsupportedVersion(epoch: 5) == [0, 128, 0, 1, 0, 0, 0, 5])
  }

  @Test func echoesAnUnsupportedOpcodeWithTheResponseBitAndResult5() {
    let request: [UInt8] = [0, 3, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 1, 2, 3]
    #expect(Response.unsupportedOpcode(echoing: request, epoch: 7) == [0, 131, 0, 5, 0, 0, 0, 7, 1, 2, 3])
    #expect(Response.unsupportedOpcode(echoing: [0, 4], epoch: 0) == [0, 132, 0, 5, 0, 0, 0, 0])
  }
}
