import IPNatDiagnostics

extension Parser {
  /// ```
  /// port = number | word ;   (* 0..65535 or a service name *)
  /// ```
  mutating func parsePort(_ what: String) throws -> Port {
    switch current.kind {
    case .number:
      let range = current.range
      let value = try parseUInt32(what)
      if value > 65535 {
        error("parse.invalid-port", "port \(value) is out of range (0 to 65535)", at: range)
      }
      return Port(number: UInt16(min(value, 65535)), name: nil, range: range)
    case .word where current.keyword == nil, .quoted:
      let token = advance()
      let name = text(token)
      guard let number = ServiceTable.port(named: name, useSystemDatabase: options.useSystemDatabases) else {
        error("parse.unknown-service", "unknown service name '\(name.abbreviated)'", at: token.range,
              notes: variableNotes(for: token))
        return Port(number: 0, name: name, range: token.range)
      }
      return Port(number: number, name: name, range: token.range)
    default:
      throw abort(expected: what)
    }
  }

  /// ```
  /// portpair = port [ ( "-" | ":" ) port ] ;
  /// ```
  mutating func parsePortRange(_ what: String) throws -> PortRange {
    let start = current.range.start
    let low = try parsePort(what)
    var high: Port?
    if skip(.minus) || skip(.colon) {
      high = try parsePort("the end of the port range")
    }
    let pair = PortRange(low: low, high: high, range: range(from: start))
    if let high, high.number < low.number {
      error("parse.reversed-range", "the port range \(low.number)-\(high.number) runs backwards",
            at: pair.range)
    }
    return pair
  }

  /// ```
  /// port-test = cmp port | port range-op port ;
  /// cmp       = "=" | "!=" | "<" | ">" | "<=" | ">=" | "eq" | "ne" | "lt" | "gt" | "le" | "ge" ;
  /// range-op  = "<>" | "><" | ":" ;
  /// ```
  mutating func parsePortTest() throws -> PortTest {
    let start = current.range.start
    if let comparison = comparisonAtCurrent() {
      advance()
      let port = try parsePort("a port to compare with")
      return PortTest(kind: .compare(comparison, port), range: range(from: start))
    }
    let low = try parsePort("a comparison (=, !=, <, >, <=, >=) or a port")
    let rangeOperator: PortRangeOperator
    if skip(.insideRange) {
      rangeOperator = .inside
    } else if skip(.outsideRange) {
      rangeOperator = .outside
    } else if skip(.colon) {
      rangeOperator = .inclusive
    } else if current.kind == .number || current.isName {
      throw abort(expected: "'><', '<>' or ':' between the two ports")
    } else {
      // `port 80` alone: IPFilter's grammar wants a comparison. Read it as `port = 80`, so the
      // rest of the rule is still checked, and say so.
      let insertion = SourceRange(start: low.range.start, end: low.range.start)
      report(.error("parse.port-needs-comparison", "a port in from/to needs a comparison: write 'port = \(low.number)'",
                    at: low.range, fixIts: [FixIt("compare with '='", replacing: insertion, with: "= ")]))
      return PortTest(kind: .compare(.equal, low), range: range(from: start))
    }
    let high = try parsePort("the second port of the range")
    return PortTest(kind: .range(rangeOperator, low, high), range: range(from: start))
  }

  private func comparisonAtCurrent() -> PortComparison? {
    switch current.kind {
    case .punctuation(.equals): .equal
    case .punctuation(.notEquals): .notEqual
    case .punctuation(.less): .less
    case .punctuation(.greater): .greater
    case .punctuation(.lessOrEqual): .lessOrEqual
    case .punctuation(.greaterOrEqual): .greaterOrEqual
    default:
      switch current.keyword {
      case .eq: .equal
      case .ne: .notEqual
      case .lt: .less
      case .gt: .greater
      case .le: .lessOrEqual
      case .ge: .greaterOrEqual
      default: nil
      }
    }
  }

  // MARK: - Protocols

  /// Whether the current token can start a protocol.
  mutating func atProtocol() -> Bool {
    if at(.tcp) || at(.udp) || at(.tcpudp) || current.kind == .number { return true }
    guard current.isName else { return false }
    // A name followed by `=` is the next statement (a variable), not a protocol; so is an
    // unknown word at the start of a line (most likely a misspelt rule keyword).
    if current.startsLine,
      ProtocolTable.number(named: text(current), useSystemDatabase: options.useSystemDatabases) == nil
    {
      return false
    }
    return !peek().is(.equals)
  }

  /// ```
  /// proto-spec = protocol | "tcpudp" | "tcp" "/" "udp" ;
  /// protocol   = number | "tcp" | "udp" | word ;   (* name via the protocol table; "ip" = 0 *)
  /// ```
  mutating func parseProtocol() throws -> ProtocolClause {
    let start = current.range.start
    let spec: ProtocolSpec
    if skip(.tcp) {
      if at(.slash), peek().is(.udp) {
        advance()
        advance()
        spec = .tcpUDP
      } else {
        spec = .tcp
      }
    } else if skip(.udp) {
      spec = .udp
    } else if skip(.tcpudp) {
      spec = .tcpUDP
    } else if current.kind == .number {
      let token = current
      let value = try parseUInt32("a protocol number")
      if value > 255 {
        error("parse.invalid-protocol", "protocol number \(value) is out of range (0 to 255)", at: token.range)
      }
      spec = ProtocolSpec(number: UInt8(min(value, 255)))
    } else if current.isName {
      let token = advance()
      let name = text(token)
      if let number = ProtocolTable.number(named: name, useSystemDatabase: options.useSystemDatabases) {
        spec = ProtocolSpec(number: number)
      } else {
        error("parse.unknown-protocol", "unknown protocol '\(name.abbreviated)'", at: token.range,
              notes: variableNotes(for: token))
        spec = .number(0)
      }
    } else {
      throw abort(expected: "a protocol")
    }
    return ProtocolClause(spec: spec, range: range(from: start))
  }

  // MARK: - Numbers

  /// A decimal number that fits 32 bits; a larger one is reported and clamped.
  mutating func parseUInt32(_ what: String) throws -> UInt32 {
    guard current.kind == .number else { throw abort(expected: what) }
    let token = advance()
    guard let value = lexer.withSpelling(of: token, Self.decimalValue) else {
      error("parse.number-too-large", "\(text(token)) is too large (at most \(UInt32.max))", at: token.range)
      return UInt32.max
    }
    return value
  }

  /// `UInt32(digits)`, for the digits of a number token, without the general parser's work: every
  /// mask length and port is one.
  private static func decimalValue(_ digits: UnsafeBufferPointer<UInt8>) -> UInt32? {
    guard !digits.isEmpty else { return nil }
    var value: UInt64 = 0
    for byte in digits {
      guard Lexer.isDigit(byte) else { return nil }
      value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
      guard value <= UInt32.max else { return nil }
    }
    return UInt32(value)
  }
}
