/// An internal network the daemon serves: the listen address, its prefix and its interface.
/// Requests from any other source, or that arrived through another interface, are dropped.
public struct ListenNetwork: Sendable, Hashable {
  public var address: UInt32
  public var prefixLength: Int
  public var interfaceIndex: Int
  public var interfaceName: String

  public init(address: UInt32, prefixLength: Int, interfaceIndex: Int, interfaceName: String) {
    self.address = address
    self.prefixLength = prefixLength
    self.interfaceIndex = interfaceIndex
    self.interfaceName = interfaceName
  }

  private var mask: UInt32 { prefixLength == 0 ? 0 : UInt32.max << (32 - prefixLength) }

  /// Whether a request from `source` that arrived on `interfaceIndex` is one to answer.
  public func admits(_ source: UInt32, arrivedOn interfaceIndex: Int?) -> Bool {
    if let interfaceIndex, interfaceIndex != self.interfaceIndex { return false }
    return source & mask == address & mask && source != address
  }
}

/// When the external address is announced (RFC 6886 §3.2.1): ten times, the first at once,
/// then after 250 ms, doubling the gap each time; a new change starts the sequence over.
public enum Announcements {
  public static let delaysInMilliseconds: [UInt64] = [0] + (0..<9).map { 250 << $0 }
  /// The all-hosts group and the client port.
  public static let group: UInt32 = 0xE000_0001
  public static let port = 5350
}
