/// NAT-PMP's messages (RFC 6886 §3): requests read from bytes, responses written as bytes.
/// Every field is big-endian.

/// The two protocols a client may map, by their request opcodes.
public enum MappedProtocol: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  case udp = 1
  case tcp = 2

  /// The IANA protocol number, as the kernel's `meta l4proto` holds it.
  public var protocolNumber: UInt8 { self == .udp ? 17 : 6 }
  public var description: String { self == .udp ? "UDP" : "TCP" }
}

/// RFC 6886 §3.5.
public enum ResultCode: UInt16, Sendable, Hashable {
  case success = 0
  case unsupportedVersion = 1
  /// "Not Authorized/Refused": the mapping is against this gateway's policy.
  case notAuthorized = 2
  /// The gateway has no external address, or could not install the mapping.
  case networkFailure = 3
  /// The client's quota or the port range is used up.
  case outOfResources = 4
  case unsupportedOpcode = 5
}

public struct MappingRequest: Sendable, Hashable {
  public var transport: MappedProtocol
  public var internalPort: UInt16
  /// Granted when free and in the external range; otherwise the port is chosen at random.
  public var suggestedExternalPort: UInt16
  /// Seconds; 0 asks for deletion.
  public var lifetime: UInt32

  public init(transport: MappedProtocol, internalPort: UInt16, suggestedExternalPort: UInt16, lifetime: UInt32) {
    self.transport = transport
    self.internalPort = internalPort
    self.suggestedExternalPort = suggestedExternalPort
    self.lifetime = lifetime
  }
}

/// What a datagram sent to the server is.
public enum InboundMessage: Sendable, Hashable {
  case externalAddressRequest
  case mappingRequest(MappingRequest)
  /// Answered with result 1.
  case unsupportedVersion(version: UInt8, opcode: UInt8)
  /// Answered by echoing the request with result 5.
  case unsupportedOpcode(opcode: UInt8)
  /// Dropped without an answer, for the reason given (a response, a short request).
  case ignored(String)

  public static func decode(_ bytes: [UInt8]) -> InboundMessage {
    guard bytes.count >= 2 else { return .ignored("a datagram of \(bytes.count) byte\(bytes.count == 1 ? "" : "s")") }
    let (version, opcode) = (bytes[0], bytes[1])
    // A response (ours, looped back, or another server's) is never answered.
    guard opcode < 128 else { return .ignored("a response (opcode \(opcode))") }
    guard version == 0 else { return .unsupportedVersion(version: version, opcode: opcode) }
    switch opcode {
    // A longer request is answered from its defined part: a client that pads its datagrams
    // would otherwise retry for minutes, unanswered.
    case 0:
      return .externalAddressRequest
    case 1, 2:
      guard bytes.count >= 12 else { return .ignored("a mapping request of \(bytes.count) bytes, not 12") }
      return .mappingRequest(MappingRequest(
        transport: MappedProtocol(rawValue: opcode)!, internalPort: Wire.u16(bytes, at: 4),
        suggestedExternalPort: Wire.u16(bytes, at: 6), lifetime: Wire.u32(bytes, at: 8)))
    default:
      return .unsupportedOpcode(opcode: opcode)
    }
  }
}

/// Responses: the common header (version 0, opcode + 128, result, seconds since the epoch began),
/// then the opcode's own fields.
public enum Response {
  /// Opcode 128: the external address (0.0.0.0 with an error result).
  public static func externalAddress(_ address: UInt32, result: ResultCode, epoch: UInt32) -> [UInt8] {
    var bytes = header(opcode: 0, result: result, epoch: epoch)
    Wire.put(address, into: &bytes)
    return bytes
  }

  /// Opcodes 129 and 130: the mapping granted, or with an error result the request's ports.
  public static func mapping(_ transport: MappedProtocol, internalPort: UInt16, externalPort: UInt16, lifetime: UInt32,
                             result: ResultCode, epoch: UInt32) -> [UInt8]
  {
    var bytes = header(opcode: transport.rawValue, result: result, epoch: epoch)
    Wire.put(internalPort, into: &bytes)
    Wire.put(externalPort, into: &bytes)
    Wire.put(lifetime, into: &bytes)
    return bytes
  }

  /// Result 1, as OpenBSD's natpmpd sends it: the bare header with opcode 128.
  public static func unsupportedVersion(epoch: UInt32) -> [UInt8] {
    header(opcode: 0, result: .unsupportedVersion, epoch: epoch)
  }

  /// Result 5: the request comes back with the response bit set and the result code (§3.5).
  /// Its first eight bytes are the response header, so a short request grows to eight.
  public static func unsupportedOpcode(echoing request: [UInt8], epoch: UInt32) -> [UInt8] {
    header(opcode: request[1], result: .unsupportedOpcode, epoch: epoch) + request.dropFirst(8)
  }

  private static func header(opcode: UInt8, result: ResultCode, epoch: UInt32) -> [UInt8] {
    var bytes: [UInt8] = [0, opcode | 0x80]
    bytes.reserveCapacity(16)
    Wire.put(result.rawValue, into: &bytes)
    Wire.put(epoch, into: &bytes)
    return bytes
  }
}

/// Big-endian fields.
enum Wire {
  static func u16(_ bytes: [UInt8], at offset: Int) -> UInt16 {
    UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
  }

  static func u32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(u16(bytes, at: offset)) << 16 | UInt32(u16(bytes, at: offset + 2))
  }

  static func put(_ value: UInt16, into bytes: inout [UInt8]) {
    bytes.append(UInt8(value >> 8))
    bytes.append(UInt8(truncatingIfNeeded: value))
  }

  static func put(_ value: UInt32, into bytes: inout [UInt8]) {
    put(UInt16(value >> 16), into: &bytes)
    put(UInt16(truncatingIfNeeded: value), into: &bytes)
  }
}
