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

public enum Statement: Sendable, Hashable {
  /// Not boxed: a rule is one reference already (``Shared``), and a file is mostly rules.
  case rule(Rule)
  indirect case assignment(Assignment)
  indirect case dnsProxy(DNSProxyConfig)
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
