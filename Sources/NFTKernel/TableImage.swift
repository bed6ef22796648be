/// A table reduced to what decides how it matches, translates and lists: its chains, objects,
/// named sets with their elements, and rules in chain order. Built from a compiled
/// ``KernelTable`` and from a table read back from the kernel, so that the two compare equal
/// exactly when loading the compiled one would change nothing; ``TableUpdate`` works out the
/// difference between them.
public struct TableImage: Sendable {
  public var chains: [KernelChain]
  public var objects: [KernelObject]
  /// Named sets and maps by name.
  public var sets: [String: SetContent]
  /// The names of ``sets`` in the table's order. Chains, objects and sets are listed (`nft
  /// list`) in the order they were made.
  public var setNames: [String]
  /// Rules in chain order; the chains' own order does not matter.
  public var rules: [Rule]

  /// `sets`: named sets in the table's order.
  public init(chains: [KernelChain], objects: [KernelObject], sets: [(name: String, content: SetContent)],
              rules: [Rule]) {
    (self.chains, self.objects, self.rules) = (chains, objects, rules)
    self.sets = Dictionary(sets.map { ($0.name, $0.content) }, uniquingKeysWith: { first, _ in first })
    setNames = sets.map(\.name)
  }

  /// What a set is, apart from its elements; the kernel's name for an anonymous set is not part
  /// of it.
  public struct SetDefinition: Sendable, Hashable {
    public var flags: KernelSet.Flags
    public var keyType: UInt32
    public var keyLength: UInt32
    public var dataType: UInt32?
    public var dataLength: UInt32
    public var userdata: [UInt8]
    public var concatenationFieldLengths: [UInt8]
    /// Milliseconds an element lives by default (a dynamic set's).
    public var timeout: UInt64?

    public init(flags: KernelSet.Flags, keyType: UInt32, keyLength: UInt32, dataType: UInt32?, dataLength: UInt32,
                userdata: [UInt8], concatenationFieldLengths: [UInt8], timeout: UInt64? = nil) {
      (self.flags, self.keyType, self.keyLength) = (flags, keyType, keyLength)
      // A verdict map's data length is the kernel's own: it reports one, and nft sends none.
      (self.dataType, self.dataLength) = (dataType, dataType == nil || dataType == Self.verdictType ? 0 : dataLength)
      (self.userdata, self.concatenationFieldLengths) = (userdata, concatenationFieldLengths)
      self.timeout = timeout
    }

    /// `NFT_DATA_VERDICT`.
    static let verdictType: UInt32 = 0xffff_ff00

    public init(_ set: KernelSet) {
      self.init(flags: set.flags, keyType: set.keyType, keyLength: set.keyLength, dataType: set.dataType,
                dataLength: set.dataLength, userdata: set.userdata,
                concatenationFieldLengths: set.concatenationFieldLengths, timeout: set.timeout)
    }
  }

  /// A set's definition and its elements, in no order (the kernel lists them in its own).
  public struct SetContent: Sendable, Hashable {
    public var definition: SetDefinition
    /// Each element once; two contents with the same elements in another order are equal.
    public var elements: [KernelElement]

    public init(definition: SetDefinition, elements: [KernelElement]) {
      (self.definition, self.elements) = (definition, elements)
    }

    public init(_ set: KernelSet) {
      self.init(definition: SetDefinition(set), elements: set.elements)
    }

    public static func == (left: SetContent, right: SetContent) -> Bool {
      guard left.definition == right.definition, left.elements.count == right.elements.count else { return false }
      let difference = ElementDifference(from: left.elements, to: right.elements)
      return difference.deleting.isEmpty && difference.adding.isEmpty
    }

    /// The same for any order of the elements.
    public func hash(into hasher: inout Hasher) {
      hasher.combine(definition)
      hasher.combine(elements.count)
      hasher.combine(elements.indices.reduce(0) { $0 ^ elements[$1].hashValue })
    }
  }

  /// Everything that makes one rule differ from another, apart from where it stands.
  public struct RuleContent: Sendable, Hashable {
    /// The expressions as libnftnl prints them, without counter values or the kernel's
    /// numbers for anonymous sets.
    public var fingerprint: String
    /// The comment, as the kernel keeps it.
    public var userdata: [UInt8]
    /// The anonymous sets the rule looks up, in the order it looks them up.
    public var anonymousSets: [SetContent]

    public init(fingerprint: String, userdata: [UInt8], anonymousSets: [SetContent]) {
      (self.fingerprint, self.userdata, self.anonymousSets) = (fingerprint, userdata, anonymousSets)
    }

    /// What the rule does, without its comment: a rule that only moved to another line, or a
    /// fold that gained a member, does the same.
    public var behaviour: RuleContent { RuleContent(fingerprint: fingerprint, userdata: [], anonymousSets: anonymousSets) }
  }

  public struct Rule: Sendable {
    public var chain: String
    public var content: RuleContent
    /// The kernel's handle of a loaded rule; for a compiled rule, its index in
    /// ``KernelTable/rules``.
    public var handle: UInt64
    /// What a loaded rule has counted so far.
    public var counters = Counters()

    public init(chain: String, content: RuleContent, handle: UInt64, counters: Counters = Counters()) {
      (self.chain, self.content, self.handle, self.counters) = (chain, content, handle, counters)
    }
  }

  /// A rule's counter: packets and bytes.
  public struct Counters: Sendable, Hashable {
    public var packets: UInt64
    public var bytes: UInt64

    public init(packets: UInt64 = 0, bytes: UInt64 = 0) { (self.packets, self.bytes) = (packets, bytes) }
  }
}

/// The elements one array holds and another does not, each way. Elements are found by their
/// hash in a table of indices built once: a map of 100,000 elements is compared without
/// copying its elements into sets.
public struct ElementDifference: Sendable {
  /// In `old`, not in `new`.
  public var deleting: [KernelElement] = []
  /// In `new`, not in `old`.
  public var adding: [KernelElement] = []

  public init(from old: [KernelElement], to new: [KernelElement]) {
    // Chains of indices into `new` by hash: the first index of each hash, and the next of each index.
    var first: [Int: Int] = Dictionary(minimumCapacity: new.count)
    var next = [Int](repeating: -1, count: new.count)
    let hashes = new.indices.map { new[$0].hashValue }
    for index in new.indices.reversed() {
      if let following = first[hashes[index]] { next[index] = following }
      first[hashes[index]] = index
    }
    var found = [Bool](repeating: false, count: new.count)
    for index in old.indices {
      var candidate = first[old[index].hashValue] ?? -1
      while candidate >= 0 && (found[candidate] || new[candidate] != old[index]) { candidate = next[candidate] }
      if candidate >= 0 { found[candidate] = true } else { deleting.append(old[index]) }
    }
    for index in new.indices where !found[index] { adding.append(new[index]) }
  }
}
