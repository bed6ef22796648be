import IPAddressing
import IPNatDiagnostics

/// Reads natpmpd.conf: one directive per line, words separated by blanks, `#` to the end of
/// the line. Every problem is reported at its place, and parsing goes on with the next line.
///
/// ```
/// interface wan0
/// listen on 10.0.0.1
/// external ports 49152-65535     # ipnat's own, with these defaults
/// internal ports 1-65535
/// mappings per client 128
/// pcp on
/// upnp off                       # UPnP IGD on the listen networks
/// lifetimes 120-86400            # seconds
/// third party 10.0.0.0/24        # PCP THIRD_PARTY within this network; none by default
/// allow 3074 10.0.0.0/24 3074    # permission rules, first match decides; none by default
/// deny 0-65535 0.0.0.0/0 0-65535
/// ```
public struct ConfigurationParser {
  public struct Result: Sendable {
    /// Present when there were no errors.
    public var configuration: DaemonConfiguration?
    public var diagnostics: [Diagnostic]
  }

  private typealias Word = SourceWord

  private let file: SourceFile
  private var diagnostics: [Diagnostic] = []
  private var interface: (name: String, range: SourceRange)?
  private var listenAddresses: [(address: UInt32, range: SourceRange)] = []
  private var externalPorts = DaemonConfiguration.defaultExternalPorts
  private var internalPorts: ClosedRange<UInt16> = 1...65535
  private var mappingsPerClient = DaemonConfiguration.defaultMappingsPerClient
  private var pcp = true
  private var upnp = false
  private var lifetimes = DaemonConfiguration.defaultLifetimes
  private var thirdPartyNetworks: [(network: AddressPrefix, range: SourceRange)] = []
  private var permissions: [PermissionRule] = []
  /// Directives seen, valid or not: a bad `interface` line is not also a missing one.
  private var directivesSeen: Set<Substring> = []

  public static func parse(_ file: SourceFile) -> Result {
    var parser = ConfigurationParser(file: file)
    return parser.run()
  }

  private init(file: SourceFile) { self.file = file }

  private mutating func run() -> Result {
    for line in 1...file.lineCount {
      let words = file.words(ofLine: line)
      if let first = words.first { directive(first, words.dropFirst()) }
    }
    // What is missing has no place in the file.
    if !directivesSeen.contains("interface") {
      diagnostics.append(Diagnostic(NATPMPDiagnostics.missingInterface,
                                    "no 'interface' line: natpmpd needs the external interface", at: nil))
    }
    if !directivesSeen.contains("listen") {
      diagnostics.append(Diagnostic(NATPMPDiagnostics.missingListen,
                                    "no 'listen on' line: natpmpd needs an internal address to serve", at: nil))
    }
    checkThirdPartyNetworks()
    guard !diagnostics.contains(where: { $0.severity == .error }), let interface else {
      return Result(configuration: nil, diagnostics: diagnostics)
    }
    var configuration = DaemonConfiguration(
      externalInterface: interface.name, listenAddresses: listenAddresses.map(\.address),
      externalPorts: externalPorts, internalPorts: internalPorts, mappingsPerClient: mappingsPerClient)
    configuration.pcp = pcp
    configuration.upnp = upnp
    configuration.lifetimes = lifetimes
    configuration.thirdPartyNetworks = thirdPartyNetworks.map(\.network)
    configuration.permissions = permissions
    return Result(configuration: configuration, diagnostics: diagnostics)
  }

  private mutating func directive(_ first: Word, _ rest: ArraySlice<Word>) {
    directivesSeen.insert(first.text)
    switch first.text {
    case "interface": interfaceLine(first, rest)
    case "listen": listenLine(first, rest)
    case "external", "internal": portsLine(first, rest)
    case "mappings": mappingsLine(first, rest)
    case "pcp", "upnp": switchLine(first, rest)
    case "lifetimes": lifetimesLine(first, rest)
    case "third": thirdPartyLine(first, rest)
    case "allow", "deny": permissionLine(first, rest)
    default:
      error(NATPMPDiagnostics.unknownDirective, "unknown directive '\(first.text)'", at: first.range,
            notes: [Note("expected 'interface', 'listen on', 'external ports', 'internal ports', 'mappings per client', "
                         + "'pcp', 'upnp', 'lifetimes', 'third party', 'allow' or 'deny'")])
    }
  }

  private mutating func interfaceLine(_ keyword: Word, _ rest: ArraySlice<Word>) {
    guard let name = expectOne(rest, after: keyword, what: "an interface name") else { return }
    guard name.text.utf8.count < 16, !name.text.contains("/") else {
      return error(NATPMPDiagnostics.badInterface, "'\(name.text)' is not an interface name (at most 15 bytes, no '/')",
                   at: name.range)
    }
    if let previous = interface {
      return error(NATPMPDiagnostics.duplicateInterface, "a second 'interface' line: natpmpd serves one external interface",
                   at: keyword.range.extended(to: name.range), notes: [Note("the first is here", at: previous.range)])
    }
    interface = (String(name.text), keyword.range.extended(to: name.range))
  }

  private mutating func listenLine(_ keyword: Word, _ rest: ArraySlice<Word>) {
    guard let on = rest.first, on.text == "on" else {
      return error(NATPMPDiagnostics.expectedOn, "expected 'on' after 'listen'", at: rest.first?.range ?? keyword.range)
    }
    guard let word = expectOne(rest.dropFirst(), after: on, what: "an IPv4 address") else { return }
    guard let address = IPAddress.parseIPv4(word.text) else {
      return error(NATPMPDiagnostics.badAddress, "'\(word.text)' is not an IPv4 address (NAT-PMP serves IPv4 only)",
                   at: word.range)
    }
    guard address != 0, address >> 28 != 14, address >> 24 != 127 else {
      return error(NATPMPDiagnostics.badAddress,
                   "natpmpd cannot listen on \(IPAddress.formatIPv4(address)): it must be a unicast address of an internal interface",
                   at: word.range)
    }
    if let previous = listenAddresses.first(where: { $0.address == address }) {
      return error(NATPMPDiagnostics.duplicateListen, "\(word.text) is already listed", at: word.range,
                   notes: [Note("first listed here", at: previous.range)])
    }
    listenAddresses.append((address, word.range))
  }

  /// `external ports LOW-HIGH` or `internal ports LOW-HIGH` (a single port is a range of one).
  private mutating func portsLine(_ keyword: Word, _ rest: ArraySlice<Word>) {
    guard let ports = rest.first, ports.text == "ports" else {
      return error(NATPMPDiagnostics.expectedPorts, "expected 'ports' after '\(keyword.text)'",
                   at: rest.first?.range ?? keyword.range)
    }
    guard let word = expectOne(rest.dropFirst(), after: ports, what: "a port range such as 49152-65535"),
      let range = portRange(word, lowest: 1)
    else { return }
    if keyword.text == "external" { externalPorts = range } else { internalPorts = range }
  }

  /// `LOW-HIGH` or one port, from `lowest` up; reported when it is not one.
  private mutating func portRange(_ word: Word, lowest: UInt16) -> ClosedRange<UInt16>? {
    let bounds = word.text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
    guard let low = bounds.first.flatMap({ UInt16($0) }), let high = bounds.count == 2 ? UInt16(bounds[1]) : low,
      low >= lowest, low <= high
    else {
      error(NATPMPDiagnostics.badPortRange,
            "'\(word.text)' is not a port range: expected LOW-HIGH with \(lowest) <= LOW <= HIGH <= 65535", at: word.range)
      return nil
    }
    return low...high
  }

  /// `ADDRESS/LENGTH`, or one address; reported when it is not one.
  private mutating func network(_ word: Word) -> AddressPrefix? {
    let parts = word.text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
    guard let address = IPAddress.parseIPv4(parts[0]),
      let length = parts.count == 2 ? Int(parts[1]) : 32, (0...32).contains(length)
    else {
      error(NATPMPDiagnostics.badAddress, "'\(word.text)' is not an IPv4 network (ADDRESS/LENGTH)", at: word.range)
      return nil
    }
    return AddressPrefix(.ipv4(address), length: length)
  }

  /// `allow|deny EXTERNAL-PORTS NETWORK INTERNAL-PORTS`, as miniupnpd writes them.
  private mutating func permissionLine(_ keyword: Word, _ rest: ArraySlice<Word>) {
    let words = Array(rest)
    guard words.count == 3 else {
      let place = words.count > 3 ? words[3].range.extended(to: words.last!.range)
        : SourceRange(start: (words.last ?? keyword).range.end, end: (words.last ?? keyword).range.end)
      return error(NATPMPDiagnostics.badPermission,
                   "expected '\(keyword.text) EXTERNAL-PORTS NETWORK INTERNAL-PORTS', such as '\(keyword.text) 1024-65535 192.168.1.0/24 1024-65535'",
                   at: place)
    }
    guard let outside = portRange(words[0], lowest: 0), let network = network(words[1]),
      let inside = portRange(words[2], lowest: 0)
    else { return }
    permissions.append(PermissionRule(allows: keyword.text == "allow", externalPorts: outside, network: network,
                                      internalPorts: inside))
  }

  /// `mappings per client N`.
  private mutating func mappingsLine(_ keyword: Word, _ rest: ArraySlice<Word>) {
    guard rest.count >= 2, rest[rest.startIndex].text == "per", rest[rest.startIndex + 1].text == "client" else {
      return error(NATPMPDiagnostics.expectedPerClient, "expected 'mappings per client N'", at: keyword.range)
    }
    let client = rest[rest.startIndex + 1]
    guard let word = expectOne(rest.dropFirst(2), after: client, what: "a number of mappings") else { return }
    guard let count = Int(word.text), (1...65535).contains(count) else {
      return error(NATPMPDiagnostics.badNumber, "'\(word.text)' is not a number of mappings from 1 to 65535", at: word.range)
    }
    mappingsPerClient = count
  }

  /// `pcp on|off`, `upnp on|off`.
  private mutating func switchLine(_ keyword: Word, _ rest: ArraySlice<Word>) {
    guard let word = expectOne(rest, after: keyword, what: "'on' or 'off'") else { return }
    guard word.text == "on" || word.text == "off" else {
      return error(NATPMPDiagnostics.badSwitch, "'\(word.text)' is neither 'on' nor 'off'", at: word.range)
    }
    if keyword.text == "pcp" { pcp = word.text == "on" } else { upnp = word.text == "on" }
  }

  /// `lifetimes MIN-MAX`, in seconds.
  private mutating func lifetimesLine(_ keyword: Word, _ rest: ArraySlice<Word>) {
    guard let word = expectOne(rest, after: keyword, what: "a range of seconds such as 120-86400") else { return }
    let bounds = word.text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
    guard bounds.count == 2, let low = UInt32(bounds[0]), let high = UInt32(bounds[1]), low >= 1, low <= high,
      high <= Self.longestLifetime
    else {
      return error(NATPMPDiagnostics.badLifetimes,
                   "'\(word.text)' is not a range of lifetimes: expected MIN-MAX seconds with 1 <= MIN <= MAX <= \(Self.longestLifetime)",
                   at: word.range)
    }
    lifetimes = low...high
  }

  /// A year: longer lifetimes are surely a typing error.
  static let longestLifetime: UInt32 = 31_536_000

  /// `third party NETWORK/LENGTH` (or one address).
  private mutating func thirdPartyLine(_ keyword: Word, _ rest: ArraySlice<Word>) {
    guard let party = rest.first, party.text == "party" else {
      return error(NATPMPDiagnostics.expectedParty, "expected 'party' after 'third'", at: rest.first?.range ?? keyword.range)
    }
    guard let word = expectOne(rest.dropFirst(), after: party, what: "an IPv4 network such as 10.0.0.0/24"),
      let network = network(word)
    else { return }
    thirdPartyNetworks.append((network, word.range))
  }

  /// A third-party network serves hosts of a network natpmpd listens on: one holding none of
  /// the listen addresses would let the LAN map ports for hosts it cannot reach.
  private mutating func checkThirdPartyNetworks() {
    for (network, range) in thirdPartyNetworks
    where !listenAddresses.contains(where: { network.contains(AddressPrefix(.ipv4($0.address), length: 32)) }) {
      error(NATPMPDiagnostics.foreignThirdParty,
            "\(network) holds no listen address: third-party mappings are for a network natpmpd serves", at: range)
    }
  }

  /// Exactly one more word: the directive's value.
  private mutating func expectOne(_ rest: ArraySlice<Word>, after previous: Word, what: String) -> Word? {
    guard let value = rest.first else {
      error(NATPMPDiagnostics.missingValue, "expected \(what) after '\(previous.text)'",
            at: SourceRange(start: previous.range.end, end: previous.range.end))
      return nil
    }
    if rest.count > 1 {
      error(NATPMPDiagnostics.extraWords, "unexpected '\(rest[rest.startIndex + 1].text)' after \(what)",
            at: rest[rest.startIndex + 1].range.extended(to: rest.last!.range))
      return nil
    }
    return value
  }

  private mutating func error(_ kind: DiagnosticKind, _ message: String, at range: SourceRange, notes: [Note] = []) {
    diagnostics.append(Diagnostic(kind, message, at: range, notes: notes))
  }
}
