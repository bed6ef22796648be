import IPNatDiagnostics

/// `name = "value";`
public struct Assignment: Sendable, Hashable {
  public var name: Located<String>
  public var value: Located<String>
  public var range: SourceRange
}

/// `proxy dns/udp config NAME { allow .example.com; block ads.example; };`
public struct DNSProxyConfig: Sendable, Hashable {
  public struct Entry: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable {
      case allow, block
    }

    public var action: Action
    /// The name as written, including a leading `.` (suffix match) or `*`.
    public var name: String
    public var range: SourceRange
  }

  public var protocolClause: ProtocolClause
  public var name: Located<String>
  public var entries: [Entry]
  public var range: SourceRange
}

public indirect enum Statement: Sendable, Hashable {
  case rule(Rule)
  case assignment(Assignment)
  case dnsProxy(DNSProxyConfig)
}

extension Statement {
  public var range: SourceRange {
    switch self {
    case .rule(let rule): rule.range
    case .assignment(let assignment): assignment.range
    case .dnsProxy(let config): config.range
    }
  }
}

/// A parsed ipnat.conf: its statements in file order, and its comments.
public struct Config: Sendable, Hashable {
  public var statements: [Statement]
  public var comments: [Comment]

  public init(statements: [Statement] = [], comments: [Comment] = []) {
    self.statements = statements
    self.comments = comments
  }

  /// The NAT rules, in file order.
  public var rules: [Rule] {
    statements.compactMap { statement in
      if case .rule(let rule) = statement { return rule }
      return nil
    }
  }
}
