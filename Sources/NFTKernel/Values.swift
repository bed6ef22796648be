import IPAddressing
import NFTModel

/// nft's userspace data types (`include/datatype.h`): the kernel stores these numbers with a
/// set so that `nft list` knows how to print its keys and data.
enum ValueType: UInt32 {
  case integer = 4
  case mark = 19
  case ipv4Address = 7
  case ipv6Address = 8
  case transportProtocol = 12
  case service = 13
  case interfaceName = 41
  case nfproto = 29
  case tcpFlags = 24

  init(_ type: DataType) {
    switch type {
    case .ipv4Address: self = .ipv4Address
    case .ipv6Address: self = .ipv6Address
    case .service: self = .service
    case .transportProtocol: self = .transportProtocol
    case .interfaceName: self = .interfaceName
    case .integer32: self = .integer
    }
  }

  init(_ family: AddressFamily) { self = family == .ip ? .ipv4Address : .ipv6Address }

  /// Bytes a value of the type takes in a register and in a set key.
  var length: Int {
    switch self {
    case .integer, .mark: 4
    case .ipv4Address: 4
    case .ipv6Address: 16
    case .transportProtocol, .nfproto, .tcpFlags: 1
    case .service: 2
    case .interfaceName: 16
    }
  }

  /// nft's byte order for the type, as it records it in set userdata (2 big endian, 1 host).
  var byteOrder: UInt32 {
    switch self {
    case .ipv4Address, .ipv6Address, .service, .tcpFlags: 2
    case .integer, .mark, .transportProtocol, .nfproto, .interfaceName: 1
    }
  }
}

/// Turns IR constants into the bytes the kernel compares and stores.
enum ValueEncoding {
  static func bytes(of value: Expression, as type: ValueType) throws(LinearizationError) -> [UInt8] {
    switch (value, type) {
    case (.address(let address), .ipv4Address), (.address(let address), .ipv6Address):
      return addressBytes(address)
    case (.prefix(let address, _), .ipv4Address), (.prefix(let address, _), .ipv6Address):
      return addressBytes(address)
    case (.integer(let number), _):
      return try integerBytes(number, as: type)
    case (.symbol(let name), _):
      guard let number = symbolValue(name, type: type) else { throw .unsupported("the symbol \(name)") }
      return try integerBytes(number, as: type)
    case (.string(let name), .interfaceName):
      return interfaceNameBytes(name)
    default:
      throw .unsupported("the value \(value) as \(type)")
    }
  }

  static func addressBytes(_ address: IPAddress) -> [UInt8] {
    let width = address.family.width / 8
    return (0..<width).map { UInt8(truncatingIfNeeded: address.bits >> (8 * (width - 1 - $0))) }
  }

  static func integerBytes(_ number: UInt64, as type: ValueType) throws(LinearizationError) -> [UInt8] {
    let length = type.length
    guard length >= 8 || number < (UInt64(1) << (8 * length)) else {
      throw .unsupported("\(number) does not fit \(length) bytes")
    }
    let littleEndian = (0..<length).map { UInt8(truncatingIfNeeded: number >> (8 * $0)) }
    return type.byteOrder == 2 ? littleEndian.reversed() : littleEndian
  }

  /// An interface name as nft compares it: the whole name padded with zeros to IFNAMSIZ, or for
  /// a wildcard (`ppp*`) only the bytes before the star.
  static func interfaceNameBytes(_ name: String) -> [UInt8] {
    if name.hasSuffix("*") { return Array(name.utf8.dropLast()) }
    let bytes = Array(name.utf8.prefix(16))
    return bytes + [UInt8](repeating: 0, count: 16 - bytes.count)
  }

  static func symbolValue(_ name: String, type: ValueType) -> UInt64? {
    switch (type, name) {
    case (.transportProtocol, "icmp"): 1
    case (.transportProtocol, "tcp"): 6
    case (.transportProtocol, "udp"): 17
    case (.transportProtocol, "ipv6-icmp"): 58
    case (.nfproto, "ipv4"): 2
    case (.nfproto, "ipv6"): 10
    default: nil
    }
  }

  /// TCP flag bits for `tcp flags`.
  static func tcpFlag(_ name: String) -> UInt8? {
    ["fin": 0x01, "syn": 0x02, "rst": 0x04, "psh": 0x08, "ack": 0x10, "urg": 0x20][name]
  }

  /// `ct status` bits (`enum ip_conntrack_status`).
  static func conntrackStatus(_ name: String) -> UInt32? {
    ["expected": 0x1, "seen-reply": 0x2, "assured": 0x4, "confirmed": 0x8, "snat": 0x10, "dnat": 0x20][name]
  }

  /// The mask that keeps the first `length` bits of a `width`-byte value.
  static func prefixMask(length: Int, width: Int) -> [UInt8] {
    (0..<width).map { index in
      let bits = min(max(length - 8 * index, 0), 8)
      return bits == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - bits))
    }
  }

  /// The address one past the end of a network, or nil when it wraps past the last address.
  static func successor(of bytes: [UInt8]) -> [UInt8]? {
    var next = bytes
    for index in next.indices.reversed() {
      if next[index] == 0xff {
        next[index] = 0
      } else {
        next[index] += 1
        return next
      }
    }
    return nil
  }
}

public enum LinearizationError: Error, Equatable, CustomStringConvertible {
  case unsupported(String)
  case unknownMap(String)

  public var description: String {
    switch self {
    case .unsupported(let what): "the loader cannot encode \(what)"
    case .unknownMap(let name): "the rule refers to a map that the table does not declare: @\(name)"
    }
  }
}
