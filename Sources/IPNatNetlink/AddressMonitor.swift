import CNftables
import Glibc

/// An IPv4 address of an interface, as `ip -4 addr` shows it.
public struct InterfaceAddress: Sendable, Hashable {
  public var interfaceName: String
  public var interfaceIndex: Int
  public var address: UInt32
  public var prefixLength: Int

  /// Every IPv4 address of every interface, each interface's primary address first.
  public static func all() -> [InterfaceAddress] {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0, let first = list else { return [] }
    defer { freeifaddrs(list) }
    var addresses: [InterfaceAddress] = []
    for entry in sequence(first: first, next: { $0.pointee.ifa_next }) {
      guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
      let name = String(cString: entry.pointee.ifa_name)
      let mask = entry.pointee.ifa_netmask.map { ipv4(of: $0) } ?? UInt32.max
      addresses.append(InterfaceAddress(interfaceName: name, interfaceIndex: Int(if_nametoindex(name)),
                                        address: ipv4(of: address), prefixLength: mask.nonzeroBitCount))
    }
    return addresses
  }

  /// The primary IPv4 address of an interface, if it is up and has one.
  public static func primary(of interfaceName: String) -> UInt32? {
    all().first { $0.interfaceName == interfaceName }?.address
  }

  private static func ipv4(of address: UnsafeMutablePointer<sockaddr>) -> UInt32 {
    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
  }
}

/// Tells when interfaces or their IPv4 addresses change, from the kernel's rtnetlink
/// notifications (RTMGRP_LINK and RTMGRP_IPV4_IFADDR). It says only that something changed:
/// the caller reads the addresses again, which also covers notifications lost to a full buffer.
public final class AddressMonitor: @unchecked Sendable {
  private let descriptor: Int32

  private static let linkGroup: UInt32 = 0x1
  private static let ipv4AddressGroup: UInt32 = 0x10

  public init() throws(NetlinkError) {
    descriptor = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_ROUTE)
    guard descriptor >= 0 else { throw .system("open an rtnetlink socket", errno) }
    var address = sockaddr_nl()
    address.nl_family = sa_family_t(AF_NETLINK)
    address.nl_groups = Self.linkGroup | Self.ipv4AddressGroup
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_nl>.size)) }
    }
    guard bound == 0 else {
      let code = errno
      close(descriptor)
      throw .system("listen for address changes", code)
    }
  }

  deinit { close(descriptor) }

  /// Blocks, calling `changed` after each burst of notifications, until the socket fails.
  public func run(_ changed: () -> Void) {
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
      if count < 0 && errno == EINTR { continue }
      // ENOBUFS: notifications were lost; reading the addresses again covers them.
      if count < 0 && errno != ENOBUFS { return }
      // Take the rest of a burst (an address change is several messages) before reporting.
      while buffer.withUnsafeMutableBytes({ recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) > 0 {}
      changed()
    }
  }
}
