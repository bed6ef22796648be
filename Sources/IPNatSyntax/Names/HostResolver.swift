#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Turns host names in rules into addresses. A rule that names a host depends on DNS (or
/// `/etc/hosts`) at the moment the file is compiled; `--no-resolve` swaps in
/// ``RefusingHostResolver`` so that such a rule is an error instead.
public protocol HostResolver: Sendable {
  /// The address of `name` in `family`, or in IPv4 then IPv6 when the family is not known yet
  /// (as IPFilter's `gethost` does).
  func resolve(_ name: String, family: IPFamily?) -> HostResolution
}

public enum HostResolution: Sendable, Hashable {
  case resolved(IPAddress)
  case notFound
  case refused
}

/// Resolves through the C library (`getaddrinfo`): `/etc/hosts`, then DNS as configured.
public struct SystemHostResolver: HostResolver {
  public init() {}

  public func resolve(_ name: String, family: IPFamily?) -> HostResolution {
    guard Self.fitsDNS(name) else { return .notFound }
    let families: [IPFamily] = family.map { [$0] } ?? [.inet, .inet6]
    for candidate in families {
      if let address = lookup(name, candidate) { return .resolved(address) }
    }
    return .notFound
  }

  /// DNS's limits (RFC 1035: 253 bytes, labels of at most 63): a longer word cannot be a host
  /// name, and is not sent to a resolver, which might time out on it.
  static func fitsDNS(_ name: String) -> Bool {
    name.utf8.count <= 253 && !name.isEmpty && name.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
      .allSatisfy { $0.count <= 63 }
  }

  private func lookup(_ name: String, _ family: IPFamily) -> IPAddress? {
    var hints = addrinfo()
    hints.ai_family = family == .inet ? AF_INET : AF_INET6
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var result: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(name, nil, &hints, &result) == 0, let first = result else { return nil }
    defer { freeaddrinfo(result) }
    guard let socketAddress = first.pointee.ai_addr else { return nil }
    switch family {
    case .inet:
      return socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
        .ipv4(UInt32(bigEndian: $0.pointee.sin_addr.s_addr))
      }
    case .inet6:
      return socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
        withUnsafeBytes(of: $0.pointee.sin6_addr) { bytes in
          .ipv6(bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) })
        }
      }
    }
  }
}

/// For `--no-resolve`: every host name is refused, so output never depends on DNS.
public struct RefusingHostResolver: HostResolver {
  public init() {}
  public func resolve(_ name: String, family: IPFamily?) -> HostResolution { .refused }
}

/// A fixed table of names, for tests.
public struct TableHostResolver: HostResolver {
  public var table: [String: IPAddress]

  public init(_ table: [String: IPAddress]) { self.table = table }

  public func resolve(_ name: String, family: IPFamily?) -> HostResolution {
    guard let address = table[name.lowercased()], family == nil || address.family == family else {
      return .notFound
    }
    return .resolved(address)
  }
}
