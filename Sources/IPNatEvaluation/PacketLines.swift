import IPAddressing
import IPNatDiagnostics

/// What `ipnat test` reports about its packet lines (`test.*`).
public enum TestDiagnostics: DiagnosticCatalogue {
  public static let malformedPacket = DiagnosticKind("test.malformed-packet", .error, "a packet line ipnat cannot read")
  public static let unmetExpectation = DiagnosticKind("test.unmet-expectation", .error,
                                                      "a packet not translated as its line expects")

  public static let kinds = [malformedPacket, unmetExpectation]
}

/// One packet line: the packet, what it must become (after `=>`), and where it is.
public struct PacketLine: Sendable {
  public var packet: Packet
  public var expectation: Expectation?
  public var line: Int
  public var range: SourceRange
  /// Where the expectation is written, for a diagnostic that it is unmet.
  public var expectationRange: SourceRange?
}

/// `=> SRC DST` (each address or port may be `*`, any) or `=> unchanged`.
public enum Expectation: Sendable, Equatable {
  case unchanged
  case translated(source: Pattern, destination: Pattern)

  public struct Pattern: Sendable, Equatable, CustomStringConvertible {
    /// Nil: any.
    public var address: IPAddress?
    /// Nil: any (or none, for a packet without ports).
    public var port: UInt16?

    public var description: String {
      let address = address.map { "\($0)" } ?? "*"
      return port.map { "\(address),\($0)" } ?? (hasAnyPort ? "\(address),*" : address)
    }

    var hasAnyPort = false
  }
}

/// Reads packet lines: `in|out on IF PROTO SRC[,PORT] DST[,PORT] [ICMP-TYPE] [=> SRC DST | =>
/// unchanged]`, `#` comments and blank lines. Every malformed line is reported at its place,
/// and reading goes on with the next.
public struct PacketLineReader {
  public struct Result: Sendable {
    public var lines: [PacketLine]
    public var diagnostics: [Diagnostic]
  }

  private typealias Word = SourceWord

  public static func read(_ file: SourceFile) -> Result {
    var lines: [PacketLine] = []
    var diagnostics: [Diagnostic] = []
    for number in 0..<file.lineCount {
      let words = file.words(ofLine: number + 1)
      guard !words.isEmpty else { continue }
      switch line(words, number: number + 1) {
      case .success(let line): lines.append(line)
      case .failure(let problem):
        diagnostics.append(Diagnostic(TestDiagnostics.malformedPacket, problem.message, at: problem.range))
      }
    }
    return Result(lines: lines, diagnostics: diagnostics)
  }

  private struct Problem: Error {
    var message: String
    var range: SourceRange
  }

  private static func line(_ words: [Word], number: Int) -> Swift.Result<PacketLine, Problem> {
    let whole = words[0].range.extended(to: words[words.count - 1].range)
    let arrow = words.firstIndex { $0.text == "=>" }
    let packetWords = Array(words[..<(arrow ?? words.count)])
    do throws(Problem) {
      let packet = try Self.packet(packetWords, whole: whole)
      var line = PacketLine(packet: packet, expectation: nil, line: number, range: whole)
      if let arrow {
        let rest = Array(words[(arrow + 1)...])
        line.expectation = try expectation(rest, after: words[arrow], packet: packet)
        line.expectationRange = words[arrow].range.extended(to: words[words.count - 1].range)
      }
      return .success(line)
    } catch {
      return .failure(error)
    }
  }

  private static func packet(_ words: [Word], whole: SourceRange) throws(Problem) -> Packet {
    guard let direction = words.first.flatMap({ Packet.Direction(rawValue: String($0.text)) }) else {
      throw Problem(message: "expected 'in' or 'out'", range: words.first?.range ?? whole)
    }
    guard words.count >= 6, words[1].text == "on" else {
      throw Problem(message: "expected '\(direction.rawValue) on INTERFACE PROTOCOL SOURCE DESTINATION'", range: whole)
    }
    let interface = String(words[2].text)
    guard let protocolNumber = protocolNumber(words[3].text) else {
      throw Problem(message: "'\(words[3].text)' is not a protocol: expected tcp, udp, icmp, icmpv6 or a number",
                    range: words[3].range)
    }
    let hasPorts = protocolNumber == 6 || protocolNumber == 17
    let source = try endpoint(words[4], ports: hasPorts)
    let destination = try endpoint(words[5], ports: hasPorts)
    guard source.address.family == destination.address.family else {
      throw Problem(message: "the source and destination are of different families", range: words[4].range.extended(to: words[5].range))
    }
    var icmpType: UInt8?
    var extra = words.dropFirst(6)
    if protocolNumber == 1 || protocolNumber == 58 {
      guard let word = extra.first, let type = ICMPTypes.number(word.text, protocol: protocolNumber) else {
        throw Problem(message: "expected an ICMP type (echo, echo-reply, … or a number) after the addresses",
                      range: extra.first?.range ?? words[5].range)
      }
      icmpType = type
      extra = extra.dropFirst()
    }
    if let word = extra.first {
      throw Problem(message: "unexpected '\(word.text)' after the packet", range: word.range)
    }
    return Packet(direction: direction, interface: interface, protocolNumber: protocolNumber, source: source,
                  destination: destination, icmpType: icmpType)
  }

  /// A protocol's name as nft knows it, or its number.
  private static func protocolNumber(_ word: Substring) -> UInt8? {
    Symbols.protocols[String(word)].map(UInt8.init) ?? UInt8(word)
  }

  /// `ADDRESS,PORT` for TCP and UDP, `ADDRESS` otherwise.
  private static func endpoint(_ word: Word, ports: Bool) throws(Problem) -> Endpoint {
    let parts = word.text.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
    guard let address = IPAddress.parse(parts[0]) else {
      throw Problem(message: "'\(parts[0])' is not an IPv4 or IPv6 address", range: word.range)
    }
    guard ports else {
      guard parts.count == 1 else { throw Problem(message: "a port for a protocol without ports", range: word.range) }
      return Endpoint(address)
    }
    guard parts.count == 2, let port = UInt16(parts[1]) else {
      throw Problem(message: "expected ADDRESS,PORT (a port from 0 to 65535)", range: word.range)
    }
    return Endpoint(address, port: port)
  }

  private static func expectation(_ words: [Word], after arrow: Word, packet: Packet) throws(Problem) -> Expectation {
    if words.count == 1, words[0].text == "unchanged" { return .unchanged }
    guard words.count == 2 else {
      throw Problem(message: "expected '=> SOURCE DESTINATION' or '=> unchanged'",
                    range: words.isEmpty ? arrow.range : words[0].range.extended(to: words[words.count - 1].range))
    }
    return .translated(source: try pattern(words[0], packet: packet), destination: try pattern(words[1], packet: packet))
  }

  /// An endpoint in which `*` stands for any address or port.
  private static func pattern(_ word: Word, packet: Packet) throws(Problem) -> Expectation.Pattern {
    let parts = word.text.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
    var pattern = Expectation.Pattern()
    if parts[0] != "*" {
      guard let address = IPAddress.parse(parts[0]), address.family == packet.family else {
        throw Problem(message: "'\(parts[0])' is not an address of the packet's family, nor '*'", range: word.range)
      }
      pattern.address = address
    }
    guard parts.count == 2 else {
      if packet.hasPorts { throw Problem(message: "expected ADDRESS,PORT ('*' for any)", range: word.range) }
      return pattern
    }
    guard packet.hasPorts else { throw Problem(message: "a port for a protocol without ports", range: word.range) }
    if parts[1] == "*" {
      pattern.hasAnyPort = true
    } else {
      guard let port = UInt16(parts[1]) else { throw Problem(message: "'\(parts[1])' is not a port, nor '*'", range: word.range) }
      pattern.port = port
    }
    return pattern
  }
}
