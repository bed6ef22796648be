import NFTModel

/// The kernel's form of a table: what `nft -f` would send for the same script, as values. Every
/// field is a netlink attribute of nf_tables (`linux/netfilter/nf_tables.h`); numbers are the
/// kernel's ABI, bytes are exactly what goes on the wire. `Linearizer` builds it from the IR;
/// the netlink layer only copies it into messages, so everything that decides bytes is here and
/// testable without libnftnl or a kernel.
public struct KernelTable: Sendable, Hashable {
  public var family: UInt8
  public var name: String
  public var chains: [KernelChain]
  public var objects: [KernelObject]
  /// Named sets and maps; a rule's anonymous sets travel with the rule.
  public var sets: [KernelSet]
  public var rules: [KernelRule]
  /// What the table was compiled from, for its ``LoadRecord``; nil where not known.
  public var source: CompiledSource? = nil
}

public struct KernelChain: Sendable, Hashable {
  public struct Hook: Sendable, Hashable {
    /// `nf_inet_hooks`: 0 prerouting … 4 postrouting.
    public var number: UInt32
    public var priority: Int32
    /// `nat` or `filter`.
    public var type: String

    public init(number: UInt32, priority: Int32, type: String) {
      (self.number, self.priority, self.type) = (number, priority, type)
    }
  }

  public var name: String
  public var hook: Hook?

  public init(name: String, hook: Hook?) { (self.name, self.hook) = (name, hook) }
}

/// A stateful object (`NFT_OBJECT_*`).
public enum KernelObject: Sendable, Hashable {
  case conntrackHelper(name: String, helper: String, layer3: UInt16, layer4: UInt8)
  /// `timeouts` holds one value per conntrack state of the protocol, in the kernel's order.
  case conntrackTimeout(name: String, layer3: UInt16, layer4: UInt8, timeouts: [UInt32])

  public var name: String {
    switch self {
    case .conntrackHelper(let name, _, _, _), .conntrackTimeout(let name, _, _, _): name
    }
  }

  /// `NFT_OBJECT_CT_HELPER` and `NFT_OBJECT_CT_TIMEOUT`.
  public var type: UInt32 {
    switch self {
    case .conntrackHelper: 3
    case .conntrackTimeout: 7
    }
  }
}

/// A set or map, named or anonymous (`__set%d`, `__map%d`: the kernel picks the number).
public struct KernelSet: Sendable, Hashable {
  public struct Flags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let anonymous = Flags(rawValue: 0x1)
    public static let constant = Flags(rawValue: 0x2)
    public static let interval = Flags(rawValue: 0x4)
    public static let map = Flags(rawValue: 0x8)
    public static let timeout = Flags(rawValue: 0x10)
    /// `NFT_SET_EVAL`: rules add elements as packets pass (nft's `flags dynamic`).
    public static let dynamic = Flags(rawValue: 0x20)
    /// `NFT_SET_CONCAT`: an interval key of several parts, each matched as a range of its own.
    public static let concatenation = Flags(rawValue: 0x80)
  }

  public var name: String
  /// Rules in the same transaction refer to the set by this id, not by its name.
  public var id: UInt32
  public var flags: Flags
  public var keyType: UInt32
  public var keyLength: UInt32
  public var dataType: UInt32?
  public var dataLength: UInt32
  /// `NFTA_SET_DESC_SIZE`: nft gives it for anonymous sets, and 65,535 for dynamic ones.
  public var size: UInt32?
  /// `NFTA_SET_TIMEOUT`: milliseconds an element lives when whoever adds it names no timeout.
  public var timeout: UInt64? = nil
  /// nft's set userdata (byte order, typeof, interval data): how `nft list` prints the set.
  public var userdata: [UInt8]
  public var elements: [KernelElement]
  /// `NFTA_SET_DESC_CONCAT`: the bytes of each part of a concatenated interval key, by which
  /// the kernel picks its range-matching set type (pipapo). Empty for other sets.
  public var concatenationFieldLengths: [UInt8] = []

  public var isAnonymous: Bool { flags.contains(.anonymous) }
}

public struct KernelElement: Sendable, Hashable {
  public var key: [UInt8]
  public var data: [UInt8]?
  public var verdict: KernelVerdict?
  /// `NFT_SET_ELEM_INTERVAL_END`: the first key after an interval.
  public var isIntervalEnd: Bool
  /// `NFTA_SET_ELEM_KEY_END`: in a concatenated interval set, the last key of the element's
  /// ranges (`key` holds the first).
  public var keyEnd: [UInt8]?
  /// Milliseconds until the kernel drops the element (a map with `flags timeout`).
  public var timeout: UInt64?
  /// nft's element userdata: a comment, as a TLV.
  public var userdata: [UInt8]? = nil

  public init(key: [UInt8], keyEnd: [UInt8]? = nil, data: [UInt8]? = nil, verdict: KernelVerdict? = nil,
              isIntervalEnd: Bool = false, timeout: UInt64? = nil) {
    self.key = key
    self.keyEnd = keyEnd
    self.data = data
    self.verdict = verdict
    self.isIntervalEnd = isIntervalEnd
    self.timeout = timeout
  }
}

extension KernelElement {
  /// The bytes of each field at once: an update compares the elements of maps of 100,000
  /// entries, and hashing them byte by byte cost more than reading them from the kernel.
  public func hash(into hasher: inout Hasher) {
    for bytes in [key, keyEnd, data, userdata] {
      hasher.combine(bytes?.count ?? -1)
      bytes?.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
    hasher.combine(verdict)
    hasher.combine(isIntervalEnd)
    hasher.combine(timeout)
  }
}

/// A verdict: `NF_ACCEPT`, or `NFT_JUMP`/`NFT_GOTO`/`NFT_RETURN` with a chain.
public struct KernelVerdict: Sendable, Hashable {
  public var code: Int32
  public var chain: String?

  public init(code: Int32, chain: String?) { (self.code, self.chain) = (code, chain) }

  public static let accept = KernelVerdict(code: 1, chain: nil)
  public static let `return` = KernelVerdict(code: -5, chain: nil)
  public static func jump(_ chain: String) -> KernelVerdict { KernelVerdict(code: -3, chain: chain) }
  public static func goto(_ chain: String) -> KernelVerdict { KernelVerdict(code: -4, chain: chain) }
}

public struct KernelRule: Sendable, Hashable {
  public var chain: String
  public var expressions: [KernelExpression]
  /// nft's rule userdata: the comment, as a TLV.
  public var userdata: [UInt8]
  /// The ipnat.conf rule it came from, so that a kernel error can point at its line.
  public var origin: Origin?
  /// The anonymous sets and maps the rule looks up (`{ tcp, udp }`), created just before it.
  public var sets: [KernelSet] = []
}

/// One nf_tables expression. Registers are the kernel's numbers (`NFT_REG_1` = 1 …,
/// `NFT_REG32_00` = 8 …).
public enum KernelExpression: Sendable, Hashable {
  case meta(key: UInt32, destination: UInt32)
  case payload(base: UInt32, offset: UInt32, length: UInt32, destination: UInt32)
  case bitwise(source: UInt32, destination: UInt32, mask: [UInt8], xor: [UInt8])
  case compare(source: UInt32, op: CompareOperator, data: [UInt8])
  case range(source: UInt32, op: CompareOperator, from: [UInt8], to: [UInt8])
  case lookup(source: UInt32, set: String, setID: UInt32, destination: UInt32?)
  case immediate(destination: UInt32, data: [UInt8])
  case verdict(KernelVerdict)
  case counter
  case conntrack(key: UInt32, destination: UInt32, direction: UInt8?)
  case setConntrack(key: UInt32, source: UInt32)
  case objectReference(type: UInt32, name: String)
  case numgen(destination: UInt32, modulus: UInt32)
  case fib(result: UInt32, flags: UInt32, destination: UInt32)
  case tcpOptionLoad(option: UInt8, offset: UInt32, length: UInt32, destination: UInt32)
  case tcpOptionWrite(option: UInt8, offset: UInt32, length: UInt32, source: UInt32)
  case nat(NATExpression)
  case masquerade(ports: PortRegisters?, flags: UInt32)
  case redirect(ports: PortRegisters?, flags: UInt32)
  case setMetaMark(source: UInt32)
  /// `byteorder reg = hton(reg, size, length)`, with size and length equal.
  case byteOrderToNetwork(source: UInt32, destination: UInt32, length: UInt32)
  /// `dynset update`: adds the key in `source` to a dynamic set, or renews its timeout.
  case updateSet(source: UInt32, set: String, setID: UInt32)

  public var name: String {
    switch self {
    case .meta, .setMetaMark: "meta"
    case .payload: "payload"
    case .bitwise: "bitwise"
    case .compare: "cmp"
    case .range: "range"
    case .lookup: "lookup"
    case .immediate, .verdict: "immediate"
    case .counter: "counter"
    case .conntrack, .setConntrack: "ct"
    case .objectReference: "objref"
    case .numgen: "numgen"
    case .fib: "fib"
    case .tcpOptionLoad, .tcpOptionWrite: "exthdr"
    case .nat: "nat"
    case .masquerade: "masq"
    case .redirect: "redir"
    case .byteOrderToNetwork: "byteorder"
    case .updateSet: "dynset"
    }
  }
}

/// `nft_cmp_ops`.
public enum CompareOperator: UInt32, Sendable, Hashable {
  case equal = 0, notEqual, less, lessOrEqual, greater, greaterOrEqual
}

public struct PortRegisters: Sendable, Hashable {
  public var minimum: UInt32
  public var maximum: UInt32?
}

public struct NATExpression: Sendable, Hashable {
  /// `NFT_NAT_SNAT` = 0, `NFT_NAT_DNAT` = 1.
  public var type: UInt32
  /// `NFPROTO_IPV4` or `NFPROTO_IPV6`.
  public var family: UInt32
  public var addressMinimum: UInt32?
  public var addressMaximum: UInt32?
  public var ports: PortRegisters?
  /// `NF_NAT_RANGE_*`.
  public var flags: UInt32
}
