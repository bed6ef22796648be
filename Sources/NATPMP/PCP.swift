import IPAddressing

/// PCP (RFC 6887), NAT-PMP's successor, on the same port and the same mappings: version 2
/// requests come here, version 0 goes to NAT-PMP, and any other version is answered with the
/// version this server speaks (§9). MAP and ANNOUNCE are served; a mapping made by one
/// protocol is the same mapping for the other (Appendix A).
public enum PCP {
  public static let version: UInt8 = 2
  /// §7: requests and responses are at most 1100 bytes, in 4-byte units.
  static let maximumMessage = 1100
  static let headerLength = 24
  static let mapPayloadLength = 36

  public enum Opcode: UInt8, Sendable {
    case announce = 0
    case map = 1
  }

  /// §7.4.
  public enum Result: UInt8, Sendable, CustomStringConvertible {
    case success = 0
    case unsupportedVersion = 1
    case notAuthorized = 2
    case malformedRequest = 3
    case unsupportedOpcode = 4
    case unsupportedOption = 5
    case malformedOption = 6
    case networkFailure = 7
    case noResources = 8
    case unsupportedProtocol = 9
    case userExceededQuota = 10
    case cannotProvideExternal = 11
    case addressMismatch = 12
    case excessiveRemotePeers = 13

    /// §7.2: an error's lifetime tells the client how long the same request would fail. The
    /// errors a changed network may cure are short; those of the request itself are long.
    var errorLifetime: UInt32 {
      switch self {
      case .success: 0
      case .networkFailure, .noResources, .userExceededQuota, .cannotProvideExternal: 30
      default: 1800
      }
    }

    public var description: String {
      switch self {
      case .success: "SUCCESS"
      case .unsupportedVersion: "UNSUPP_VERSION"
      case .notAuthorized: "NOT_AUTHORIZED"
      case .malformedRequest: "MALFORMED_REQUEST"
      case .unsupportedOpcode: "UNSUPP_OPCODE"
      case .unsupportedOption: "UNSUPP_OPTION"
      case .malformedOption: "MALFORMED_OPTION"
      case .networkFailure: "NETWORK_FAILURE"
      case .noResources: "NO_RESOURCES"
      case .unsupportedProtocol: "UNSUPP_PROTOCOL"
      case .userExceededQuota: "USER_EX_QUOTA"
      case .cannotProvideExternal: "CANNOT_PROVIDE_EXTERNAL"
      case .addressMismatch: "ADDRESS_MISMATCH"
      case .excessiveRemotePeers: "EXCESSIVE_REMOTE_PEERS"
      }
    }
  }

  /// §13: option codes; those below 128 must be processed or refused.
  enum OptionCode: UInt8 {
    case thirdParty = 1
    case preferFailure = 2
    case filter = 3
  }

  /// A response: the common header (§7.2), then the opcode's data and options.
  static func response(opcode: UInt8, result: Result, lifetime: UInt32, epoch: UInt32, data: [UInt8] = []) -> [UInt8] {
    var bytes: [UInt8] = [version, opcode | 0x80, 0, result.rawValue]
    bytes.reserveCapacity(headerLength + data.count)
    Wire.put(lifetime, into: &bytes)
    Wire.put(epoch, into: &bytes)
    bytes += [UInt8](repeating: 0, count: 12)
    return bytes + data
  }

  /// The unsolicited ANNOUNCE (§14.1): sent to 224.0.0.1:5350 when the epoch starts over.
  public static func announcement(epoch: UInt32) -> [UInt8] {
    response(opcode: Opcode.announce.rawValue, result: .success, lifetime: 0, epoch: epoch)
  }

  /// An IPv4 address as PCP carries it: IPv4-mapped IPv6 (`::ffff:a.b.c.d`).
  static func mapped(_ address: UInt32) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: 10) + [0xff, 0xff]
    Wire.put(address, into: &bytes)
    return bytes
  }

  /// The IPv4 address of an IPv4-mapped field; nil for another IPv6 address. The all-zero
  /// address is IPv4 0.0.0.0 too, as clients send it for "no suggestion".
  static func ipv4(_ bytes: ArraySlice<UInt8>) -> UInt32? {
    let field = Array(bytes)
    if field.allSatisfy({ $0 == 0 }) { return 0 }
    guard field.prefix(10).allSatisfy({ $0 == 0 }), field[10] == 0xff, field[11] == 0xff else { return nil }
    return Wire.u32(field, at: 12)
  }
}

extension NATPMPService {
  /// A PCP datagram (version other than NAT-PMP's 0).
  func respondPCP(to datagram: [UInt8], from client: UInt32, now: UInt64) -> Reply {
    let epoch = epoch(now: now)
    guard datagram[1] & 0x80 == 0 else { return Reply(bytes: nil, event: "ignored a PCP response") }
    let opcode = datagram[1]
    guard datagram[0] == PCP.version else {
      return Reply(bytes: PCP.response(opcode: opcode, result: .unsupportedVersion,
                                       lifetime: PCP.Result.unsupportedVersion.errorLifetime, epoch: epoch),
                   event: "PCP version \(datagram[0]): UNSUPP_VERSION")
    }
    func answer(_ result: PCP.Result, data: [UInt8] = []) -> Reply {
      Reply(bytes: PCP.response(opcode: opcode, result: result, lifetime: result.errorLifetime, epoch: epoch, data: data),
            event: "PCP opcode \(opcode): \(result)")
    }
    guard datagram.count <= PCP.maximumMessage, datagram.count % 4 == 0 else {
      return answer(.malformedRequest)
    }
    guard PCP.ipv4(datagram[8..<24]) == client else { return answer(.addressMismatch) }
    switch PCP.Opcode(rawValue: opcode) {
    case .announce?:
      return Reply(bytes: PCP.announcement(epoch: epoch), event: "PCP ANNOUNCE")
    case .map?:
      return map(datagram, from: client, now: now, epoch: epoch)
    case nil:
      return answer(.unsupportedOpcode)
    }
  }

  private func map(_ datagram: [UInt8], from sender: UInt32, now: UInt64, epoch: UInt32) -> Reply {
    let payloadEnd = PCP.headerLength + PCP.mapPayloadLength
    let lifetime = Wire.u32(datagram, at: 4)
    var processedOptions: [UInt8] = []
    func answer(_ result: PCP.Result, lifetime: UInt32? = nil, port: UInt16? = nil) -> Reply {
      var data = Array(datagram[PCP.headerLength..<min(payloadEnd, datagram.count)])
      if let port, data.count == PCP.mapPayloadLength {
        // The assigned port and address replace the suggested ones.
        data.replaceSubrange(18..<36, with: [UInt8(port >> 8), UInt8(port & 0xff)] + PCP.mapped(externalAddress ?? 0))
      }
      let bytes = PCP.response(opcode: PCP.Opcode.map.rawValue, result: result,
                               lifetime: lifetime ?? result.errorLifetime, epoch: epoch, data: data + processedOptions)
      let source = "\(IPAddress.formatIPv4(sender)):\(data.count >= 18 ? Wire.u16(data, at: 16) : 0)"
      return Reply(bytes: bytes, event: "PCP MAP \(source): \(result)\(port.map { " external port \($0)" } ?? "")",
                   changedMappings: result == .success)
    }
    guard datagram.count >= payloadEnd else { return answer(.malformedRequest) }
    let options: PCP.MapOptions
    switch PCP.mapOptions(datagram[payloadEnd...]) {
    case .failure(let error): return answer(error.result)
    case .success(let parsed): options = parsed
    }
    // §7.3: the response carries the options the server processed.
    processedOptions = options.processed
    let nonce = Array(datagram[24..<36])
    let protocolNumber = datagram[36]
    let internalPort = Wire.u16(datagram, at: 40)
    guard let transport = MappedProtocol.allCases.first(where: { $0.protocolNumber == protocolNumber }) else {
      return answer(.unsupportedProtocol)
    }
    guard internalPort != 0 else { return answer(.malformedRequest) }
    // THIRD_PARTY names the host the mapping is for; only where the configuration allows it.
    let client = options.thirdParty ?? sender
    guard configuration.mayMap(for: client, askedBy: sender) else { return answer(.notAuthorized) }
    let key = Mapping.Key(transport: transport, client: client, internalPort: internalPort)
    // The client that made a mapping owns it by its nonce (§11.3); a NAT-PMP mapping has none,
    // and the first PCP request for it gives it one.
    if table[key] != nil, let owner = nonces[key], owner != nonce { return answer(.notAuthorized) }
    if lifetime == 0 {
      return remove(table[key].map { [$0] } ?? []) ? answer(.success, lifetime: 0) : answer(.networkFailure)
    }
    guard externalAddress != nil else { return answer(.networkFailure) }
    guard configuration.internalPorts.contains(internalPort) else { return answer(.notAuthorized) }
    let suggestion = (port: Wire.u16(datagram, at: 42), address: PCP.ipv4(datagram[44..<60]))
    let granted = min(max(lifetime, configuration.lifetimes.lowerBound), configuration.lifetimes.upperBound)
    let expiry = now + UInt64(granted) * 1000
    if var existing = table[key] {
      if options.preferFailure && suggestion.port != 0 && suggestion.port != existing.externalPort {
        return answer(.cannotProvideExternal)
      }
      existing.expiry = expiry
      // A renewal without FILTER keeps the mapping's filters; with FILTER it replaces them.
      if let filters = options.filters { existing.filters = filters }
      let (result, mapping) = install(existing, now: now, by: .pcp)
      if result == .success { nonces[key] = nonce }
      return result == .success ? answer(.success, lifetime: granted, port: mapping?.externalPort) : answer(.networkFailure)
    }
    guard table.count(forClient: client) < configuration.mappingsPerClient else { return answer(.userExceededQuota) }
    let addressOK = suggestion.address == 0 || suggestion.address == externalAddress
    let suggested = addressOK ? suggestedPort(suggestion.port, for: key) : nil
    if options.preferFailure && suggested == nil { return answer(.cannotProvideExternal) }
    let shared = table.sharedPort(client: client, internalPort: internalPort, transport: transport)
    guard let port = suggested ?? shared ?? randomPort(for: key) else {
      return answer(mayHaveAnyPort(key) ? .noResources : .notAuthorized)
    }
    let (result, mapping) = install(Mapping(transport: transport, client: client, internalPort: internalPort,
                                            externalPort: port, expiry: expiry, filters: options.filters ?? []),
                                    now: now, by: .pcp)
    guard result == .success else { return answer(.networkFailure) }
    nonces[key] = nonce
    return answer(.success, lifetime: granted, port: mapping?.externalPort)
  }
}

extension PCP {
  /// What MAP's options (§7.3, §13) ask for.
  struct MapOptions {
    var preferFailure = false
    /// THIRD_PARTY: the internal host the mapping is for, when not the sender.
    var thirdParty: UInt32?
    /// FILTER: the peers that may use the mapping; nil without FILTER options, empty when a
    /// filter of prefix length 0 lifts them all.
    var filters: [PeerFilter]?
    /// The options processed, as the response repeats them.
    var processed: [UInt8] = []
  }

  /// More filters than this on one mapping are refused with EXCESSIVE_REMOTE_PEERS.
  static let maximumFilters = 16

  /// The options after MAP's data, or the error they earn. Unknown options a server must
  /// understand (codes below 128) are unsupported; unknown optional ones are ignored.
  static func mapOptions(_ bytes: ArraySlice<UInt8>) -> Swift.Result<MapOptions, ResultError> {
    var options = MapOptions()
    var offset = bytes.startIndex
    while offset < bytes.endIndex {
      guard offset + 4 <= bytes.endIndex else { return .failure(ResultError(.malformedOption)) }
      let code = bytes[offset]
      let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
      let end = offset + 4 + (length + 3) / 4 * 4
      guard end <= bytes.endIndex else { return .failure(ResultError(.malformedOption)) }
      let value = bytes[(offset + 4)..<(offset + 4 + length)]
      switch OptionCode(rawValue: code) {
      case .thirdParty?:
        guard length == 16, options.thirdParty == nil, let host = ipv4(value), host != 0 else {
          return .failure(ResultError(.malformedOption))
        }
        options.thirdParty = host
      case .preferFailure?:
        guard length == 0, !options.preferFailure else { return .failure(ResultError(.malformedOption)) }
        options.preferFailure = true
      case .filter?:
        guard length == 20 else { return .failure(ResultError(.malformedOption)) }
        switch filter(value) {
        case .failure(let error): return .failure(error)
        case .success(let filter?): options.filters = (options.filters ?? []) + [filter]
        case .success(nil): options.filters = options.filters ?? []
        }
      case nil where code < 128: return .failure(ResultError(.unsupportedOption))
      case nil: offset = end; continue  // Optional to process: ignored, and not repeated.
      }
      options.processed += bytes[offset..<end]
      offset = end
    }
    if let filters = options.filters {
      let distinct = Set(filters).sorted()
      guard distinct.count <= maximumFilters else { return .failure(ResultError(.excessiveRemotePeers)) }
      options.filters = distinct
    }
    return .success(options)
  }

  /// One FILTER (§13.3): reserved byte, prefix length, remote port (0: any), remote address.
  /// The prefix length counts the 128 bits of the IPv4-mapped address; 0 lifts every filter
  /// (nil). An IPv6 peer cannot reach an IPv4 mapping, so its filter is malformed here.
  static func filter(_ value: ArraySlice<UInt8>) -> Swift.Result<PeerFilter?, ResultError> {
    let field = Array(value)
    let prefixLength = Int(field[1])
    if prefixLength == 0 { return .success(nil) }
    guard (96...128).contains(prefixLength), let address = ipv4(field[4..<20]) else {
      return .failure(ResultError(.malformedOption))
    }
    let port = Wire.u16(field, at: 2)
    return .success(PeerFilter(network: address, prefixLength: prefixLength - 96, port: port == 0 ? nil : port))
  }

  struct ResultError: Error {
    let result: Result
    init(_ result: Result) { self.result = result }
  }
}
