import IPNatDiagnostics

/// The options that may follow a rule, each kind in IPFilter's fixed order.
enum RuleOption: String, CaseIterable {
  case roundRobin = "round-robin"
  case frag, age, sticky, mssclamp, proxy, tag
  case `protocol` = "protocol"
  case purge

  /// ```
  /// map-opts = [ "round-robin" ] [ "frag" ] [ age ] [ "mssclamp" number ] [ "tag" word ] [ proto-spec ] [ "purge" ] ;
  /// rdr-opts = [ "round-robin" ] [ "frag" ] [ age ] [ "sticky" ] [ "mssclamp" number ] [ rdr-proxy ]
  ///            [ "tag" word ] [ "purge" ] ;
  /// ```
  enum Order {
    case map, rdr

    var options: [RuleOption] {
      switch self {
      case .map: [.roundRobin, .frag, .age, .mssclamp, .tag, .protocol, .purge]
      case .rdr: [.roundRobin, .frag, .age, .sticky, .mssclamp, .proxy, .tag, .purge]
      }
    }
  }
}

/// What an option list produced.
struct ParsedOptions {
  var options = RuleOptions()
  var protocolClause: ProtocolClause?
  var proxy: RdrRule.Proxy?
}

extension Parser {
  /// The longest tag IPFilter keeps (`IPFTAG_LEN`); it truncates longer ones silently.
  static let maximumTagLength = 16

  /// Parses options in any order, reporting the ones IPFilter would reject for their order.
  mutating func parseOptions(for order: RuleOption.Order) throws -> ParsedOptions {
    var parsed = ParsedOptions()
    var seen: [RuleOption] = []
    while let option = optionAtCurrent() {
      let token = current
      guard let position = order.options.firstIndex(of: option) else {
        if option == .protocol {
          error("parse.option-order", "in an rdr rule the protocol comes before the options", at: token.range)
        } else {
          error("parse.invalid-option", "'\(option.rawValue)' is not an option of \(order == .map ? "map" : "rdr") rules",
                at: token.range)
        }
        throw ParseAbort()
      }
      if seen.contains(option) {
        error("parse.duplicate-option", "'\(option.rawValue)' is given twice", at: token.range)
      } else if let later = seen.last(where: { order.options.firstIndex(of: $0)! > position }) {
        error("parse.option-order", "'\(option.rawValue)' must come before '\(later.rawValue)'", at: token.range)
      }
      seen.append(option)
      try parseOption(option, into: &parsed)
    }
    return parsed
  }

  private mutating func optionAtCurrent() -> RuleOption? {
    switch current.keyword {
    case .roundRobin: return .roundRobin
    case .frag: return .frag
    case .age: return .age
    case .sticky: return .sticky
    case .mssclamp: return .mssclamp
    case .proxy:
      // `proxy dns/…` on a line of its own is a DNS proxy configuration, not an option.
      return current.startsLine && text(peek()).lowercased() == "dns" ? nil : .proxy
    case .tag: return .tag
    case .purge: return .purge
    default: return atProtocol() ? .protocol : nil
    }
  }

  private mutating func parseOption(_ option: RuleOption, into parsed: inout ParsedOptions) throws {
    let start = current.range.start
    switch option {
    case .protocol:
      parsed.protocolClause = try parseProtocol()
      return
    case .proxy:
      parsed.proxy = try parseRdrProxy()
      return
    default:
      advance()
    }
    switch option {
    case .roundRobin: parsed.options.roundRobin = Flag(range: range(from: start))
    case .frag: parsed.options.frag = Flag(range: range(from: start))
    case .sticky: parsed.options.sticky = Flag(range: range(from: start))
    case .purge: parsed.options.purge = Flag(range: range(from: start))
    case .age: parsed.options.age = try parseAge(from: start)
    case .mssclamp:
      let value = try parseUInt32("the maximum segment size")
      parsed.options.mssclamp = Located(value: value, range: range(from: start))
    case .tag:
      if current.kind == .number || current.kind == .hex {
        // On Linux a tag is a mark, so a number, but IPFilter's grammar reads a tag as a word.
        let number = advance()
        report(.error("parse.unquoted-tag", "IPFilter reads a tag as a word: quote the number", at: number.range,
                      fixIts: [FixIt("quote the tag", replacing: number.range, with: "\"\(text(number))\"")]))
        parsed.options.tag = Located(value: text(number), range: number.range)
        return
      }
      var tag = try parseName("a tag name")
      if tag.value.utf8.count > Parser.maximumTagLength {
        warning("parse.long-tag", "IPFilter keeps only the first \(Parser.maximumTagLength) bytes of a tag",
                at: tag.range)
        tag.value = String(decoding: tag.value.utf8.prefix(Parser.maximumTagLength), as: UTF8.self)
      }
      parsed.options.tag = tag
    case .protocol, .proxy: break
    }
  }

  /// ```
  /// age = "age" number [ "/" number ] ;
  /// ```
  private mutating func parseAge(from start: Int) throws -> Age {
    let forward = try parseUInt32("the idle timeout in seconds")
    var reverse = forward
    if skip(.slash) { reverse = try parseUInt32("the reply-direction timeout in seconds") }
    return Age(forward: forward, reverse: reverse, range: range(from: start))
  }

  /// ```
  /// rdr-proxy = "proxy" word | map-proxy ;
  /// ```
  private mutating func parseRdrProxy() throws -> RdrRule.Proxy {
    let start = advance().range.start
    if at(.port) { return .clause(try parseProxyClause(from: start)) }
    return .label(try parseName("the proxy's name, such as ftp"))
  }
}
