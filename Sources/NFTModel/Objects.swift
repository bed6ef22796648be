/// Objects a table declares and rules refer to by name.
public enum StatefulObject: Sendable, Hashable {
  /// `ct helper NAME { type "ftp" protocol tcp; l3proto inet; }`
  case conntrackHelper(ConntrackHelper)
  /// `ct timeout NAME { protocol udp; l3proto ip; policy = { … } }`
  case conntrackTimeout(ConntrackTimeout)

  public var name: String {
    switch self {
    case .conntrackHelper(let helper): helper.name
    case .conntrackTimeout(let timeout): timeout.name
    }
  }
}

public enum TransportProtocol: String, Sendable, Hashable {
  case tcp, udp
}

/// The l3proto of a helper or timeout: one family, or both in an inet table.
public enum ObjectFamily: String, Sendable, Hashable {
  case ip, ip6, inet
}

public struct ConntrackHelper: Sendable, Hashable {
  public var name: String
  /// The kernel helper's name: `ftp`, `tftp`, `irc`, `pptp`, …
  public var type: String
  public var transport: TransportProtocol
  public var family: ObjectFamily

  public init(name: String, type: String, transport: TransportProtocol, family: ObjectFamily) {
    self.name = name
    self.type = type
    self.transport = transport
    self.family = family
  }
}

public struct ConntrackTimeout: Sendable, Hashable {
  public var name: String
  public var transport: TransportProtocol
  public var family: ObjectFamily
  /// Timeouts in seconds per conntrack state, in the order given (`established`, `close`,
  /// `unreplied`, `replied`, …).
  public var policy: [StateTimeout]

  public struct StateTimeout: Sendable, Hashable {
    public var state: String
    public var seconds: UInt32

    public init(_ state: String, _ seconds: UInt32) {
      self.state = state
      self.seconds = seconds
    }
  }

  public init(name: String, transport: TransportProtocol, family: ObjectFamily, policy: [StateTimeout]) {
    self.name = name
    self.transport = transport
    self.family = family
    self.policy = policy
  }
}

/// The types of map keys and data (nft's datatype names).
public enum DataType: String, Sendable, Hashable {
  case ipv4Address = "ipv4_addr"
  case ipv6Address = "ipv6_addr"
  case service = "inet_service"
  case transportProtocol = "inet_proto"
  case interfaceName = "ifname"
  case integer32 = "integer"
}

/// A named map: `map NAME { type K : V; flags interval; elements = { … } }`. With no data
/// types it is a set of keys: `set NAME { type K; flags dynamic,timeout; timeout 1h; }`.
public struct NamedMap: Sendable, Hashable {
  /// How the maps that folded rules live in are named: `fold_1`, `fold_2`, … (a name no
  /// ipnat.conf rule gives a map).
  public static let foldNamePrefix = "fold_"

  public var name: String
  /// The key's types (several for a concatenation).
  public var key: [DataType]
  /// The data's types; a leading `interval` marks range data (`interval ipv4_addr . inet_service`).
  public var data: [DataType]
  public var intervalKey: Bool
  public var intervalData: Bool
  /// `flags timeout`: elements may carry a timeout, after which the kernel drops them.
  public var timeout: Bool
  /// `flags dynamic`: rules add elements as packets pass (`update @NAME { … }`).
  public var dynamic: Bool = false
  /// `timeout 1h`: seconds an element lives when whoever adds it names no timeout.
  public var defaultTimeout: UInt32? = nil
  public var elements: [MapElement]
  /// For a map of folded rules, the lines of the rules folded into it, in the order they
  /// joined: a later load of the file with one of those lines changed compiles that line
  /// alone and changes only its elements (`LoadRecord`).
  public var memberLines: [Int] = []

  /// nft's names of the map's flags, in nft's order.
  public var flagNames: [String] {
    (intervalKey ? ["interval"] : []) + (dynamic ? ["dynamic"] : []) + (timeout ? ["timeout"] : [])
  }

  /// A set: keys with no data.
  public var isSet: Bool { data.isEmpty }

  /// A set that rules fill as packets pass, each key kept `seconds` after it was last added.
  public static func dynamicSet(name: String, key: [DataType], seconds: UInt32) -> NamedMap {
    var set = NamedMap(name: name, key: key, data: [], timeout: true, elements: [])
    set.dynamic = true
    set.defaultTimeout = seconds
    return set
  }

  /// The set in which chain `chain`, a sticky round-robin target, remembers its clients.
  public static func clientSetName(ofChain chain: String) -> String { chain + clientSetSuffix }

  /// The chain whose clients set `name` remembers; nil for another set.
  public static func chain(ofClientSet name: String) -> String? {
    name.hasSuffix(clientSetSuffix) ? String(name.dropLast(clientSetSuffix.count)) : nil
  }

  private static let clientSetSuffix = "_clients"

  /// Whether the data is a concatenation, which nft 1.0.6's JSON input cannot declare.
  public var hasConcatenatedData: Bool { data.count > 1 }

  public init(name: String, key: [DataType], data: [DataType], intervalKey: Bool = false,
              intervalData: Bool = false, timeout: Bool = false, elements: [MapElement]) {
    self.name = name
    self.key = key
    self.data = data
    self.intervalKey = intervalKey
    self.intervalData = intervalData
    self.timeout = timeout
    self.elements = elements
  }
}

public struct MapElement: Sendable, Hashable {
  public var key: Expression
  public var value: Expression

  public init(_ key: Expression, _ value: Expression) {
    self.key = key
    self.value = value
  }
}

/// What a consumer of the IR can express: each emitter (and the kernel loader) publishes its
/// own, and the lowering chooses forms by asking for a capability, never by naming an output.
public struct OutputCapabilities: Sendable, Hashable {
  /// Maps whose data is a concatenation (`ipv4_addr . inet_service`), as rdr port maps,
  /// map-block and some folded maps use.
  public var concatenatedMapData: Bool

  public init(concatenatedMapData: Bool) {
    self.concatenatedMapData = concatenatedMapData
  }

  /// Everything the IR can hold: the nft script syntax and the kernel itself.
  public static let full = OutputCapabilities(concatenatedMapData: true)
}
