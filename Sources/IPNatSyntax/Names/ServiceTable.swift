/// Service names for ports. As with protocols, a built-in table of the well-known names comes
/// first (so `ftp` is 21 everywhere) and `/etc/services` is a fallback for the rest.
public enum ServiceTable {
  static let builtIn: [String: UInt16] = [
    "tcpmux": 1, "echo": 7, "discard": 9, "systat": 11, "daytime": 13, "netstat": 15, "qotd": 17,
    "chargen": 19, "ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "time": 37,
    "whois": 43, "tacacs": 49, "domain": 53, "bootps": 67, "bootpc": 68, "tftp": 69, "gopher": 70,
    "finger": 79, "http": 80, "www": 80, "kerberos": 88, "iso-tsap": 102, "pop3": 110, "sunrpc": 111,
    "auth": 113, "ident": 113, "nntp": 119, "ntp": 123, "epmap": 135, "netbios-ns": 137,
    "netbios-dgm": 138, "netbios-ssn": 139, "imap": 143, "imap2": 143, "snmp": 161, "snmp-trap": 162,
    "xdmcp": 177, "bgp": 179, "irc": 194, "ldap": 389, "https": 443, "microsoft-ds": 445,
    "kpasswd": 464, "submissions": 465, "isakmp": 500, "exec": 512, "biff": 512, "login": 513,
    "who": 513, "shell": 514, "syslog": 514, "printer": 515, "talk": 517, "ntalk": 518, "route": 520,
    "uucp": 540, "rtsp": 554, "submission": 587, "ipp": 631, "ldaps": 636, "rsync": 873,
    "ftps-data": 989, "ftps": 990, "telnets": 992, "imaps": 993, "pop3s": 995, "socks": 1080,
    "openvpn": 1194, "ms-sql-s": 1433, "ms-sql-m": 1434, "ingreslock": 1524, "l2tp": 1701,
    "pptp": 1723, "radius": 1812, "radius-acct": 1813, "nfs": 2049, "iscsi-target": 3260,
    "mysql": 3306, "ms-wbt-server": 3389, "svn": 3690, "sip": 5060, "sip-tls": 5061, "xmpp-client": 5222,
    "xmpp-server": 5269, "postgresql": 5432, "x11": 6000, "ircd": 6667, "http-alt": 8080,
    "webcache": 8080,
  ]

  /// The port of a service name, or `nil` if no table knows it.
  public static func port(named name: String, useSystemDatabase: Bool = true) -> UInt16? {
    let lowered = name.lowercased()
    if let port = builtIn[lowered] { return port }
    guard useSystemDatabase else { return nil }
    return SystemDatabase.services[lowered]
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// `/etc/services` and `/etc/protocols`, read once, only when a name is not built in.
enum SystemDatabase {
  static let services: [String: UInt16] = {
    var table: [String: UInt16] = [:]
    for fields in entries(of: "/etc/services") where fields.count >= 2 {
      guard let port = fields[1].split(separator: "/").first.flatMap({ UInt16($0) }) else { continue }
      for name in [fields[0]] + fields.dropFirst(2) where table[name.lowercased()] == nil {
        table[name.lowercased()] = port
      }
    }
    return table
  }()

  static let protocols: [String: UInt8] = {
    var table: [String: UInt8] = [:]
    for fields in entries(of: "/etc/protocols") where fields.count >= 2 {
      guard let number = UInt8(fields[1]) else { continue }
      for name in [fields[0]] + fields.dropFirst(2) where table[name.lowercased()] == nil {
        table[name.lowercased()] = number
      }
    }
    return table
  }()

  /// The white-space separated fields of each line, comments removed.
  private static func entries(of path: String) -> [[String]] {
    guard let contents = readTextFile(path) else { return [] }
    return contents.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
        .split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
      return fields.isEmpty ? nil : fields
    }
  }
}

/// The contents of a small text file, or `nil` if it cannot be read.
func readTextFile(_ path: String) -> String? {
  guard let file = fopen(path, "r") else { return nil }
  defer { fclose(file) }
  var bytes: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 1 << 14)
  while true {
    let count = fread(&buffer, 1, buffer.count, file)
    if count <= 0 { break }
    bytes += buffer[0..<count]
  }
  return String(decoding: bytes, as: UTF8.self)
}
