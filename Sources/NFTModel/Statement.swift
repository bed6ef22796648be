import IPAddressing

/// What a rule does once it matches.
public enum Statement: Sendable, Hashable {
  case nat(NATStatement)
  /// `ct helper set "ftp_std"`
  case setConntrackHelper(String)
  /// `ct timeout set "age_3_udp4"`
  case setConntrackTimeout(String)
  /// `tcp option maxseg size set 1452`
  case setMaximumSegmentSize(UInt16)
  /// `meta mark set 5` (this packet) or `ct mark set 5` (its connection).
  case setMark(MarkScope, UInt32)
  /// `ct label set 127`: one bit of the connection's 128 conntrack labels.
  case setConntrackLabel(UInt8)
  /// `jump CHAIN`, `goto CHAIN`, `accept`, `return`.
  case verdict(Verdict)
  /// `KEY vmap { "eth0" : jump c1, … }`
  case verdictMap(key: Expression, [VerdictMapEntry])
  /// `update @NAME { KEY }`: adds the key to a dynamic set, or renews its timeout.
  case updateSet(String, key: Expression)
}

/// The conntrack label bit every ipnat rule that translates sets on its connection, so that
/// `ipnat -F` can delete exactly the translations ipnat made and no other tool's. The highest
/// bit, as the one least likely to be named in a system's connlabel.conf.
public enum TranslationLabel {
  public static let bit: UInt8 = 127
}

public enum MarkScope: String, Sendable, Hashable {
  case packet = "meta", connection = "ct"
}

public struct VerdictMapEntry: Sendable, Hashable {
  public var key: Expression
  public var verdict: Verdict

  public init(_ key: Expression, _ verdict: Verdict) {
    self.key = key
    self.verdict = verdict
  }
}

public enum Verdict: Sendable, Hashable {
  case accept
  case `return`
  case jump(String)
  case goto(String)
}

/// `snat`, `dnat`, `masquerade` or `redirect`, with their targets.
public struct NATStatement: Sendable, Hashable {
  public enum Kind: String, Sendable, Hashable {
    case snat, dnat, masquerade, redirect
  }

  public enum Flag: String, Sendable, Hashable {
    case random, fullyRandom = "fully-random", persistent
  }

  public var kind: Kind
  /// Required for snat/dnat in an inet table; `nil` for masquerade and redirect.
  public var family: AddressFamily?
  /// `prefix`: map a whole prefix, copying host bits (`snat ip prefix to …`).
  public var mapsPrefix: Bool
  /// The address: a literal, a range, or a lookup.
  public var address: Expression?
  /// The port or port range (`:1024-65535`); only after a transport protocol match.
  public var port: Expression?
  public var flags: [Flag]

  public init(_ kind: Kind, family: AddressFamily? = nil, mapsPrefix: Bool = false, address: Expression? = nil,
              port: Expression? = nil, flags: [Flag] = []) {
    self.kind = kind
    self.family = family
    self.mapsPrefix = mapsPrefix
    self.address = address
    self.port = port
    self.flags = flags
  }
}
