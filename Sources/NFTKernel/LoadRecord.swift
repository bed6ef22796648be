import NFTModel

/// What ipnat last loaded into its table, kept between runs: the elements of the named sets,
/// and the file it compiled.
///
/// Reading a large map back costs the kernel time quadratic in its elements (each dump of at
/// most 32 KiB walks the set's hash table again from its start), and that read is most of what
/// a reload of a large folded file costs beyond compiling it. The ruleset's generation goes up
/// with every committed transaction, whoever commits it, so while it stays at the generation
/// ipnat's own commit made, the table holds exactly what ipnat sent. A record is used only for
/// the kernel, network namespace, table and generation in its ``scope``; anything else reads
/// the table back as before. With the file it compiled (``source``), a load of the file with a
/// few lines changed compiles only those lines, where that is sure to come to the same
/// (``patching(line:from:to:textHashes:)``).
public struct LoadRecord: Sendable, Equatable {
  /// What a record describes: the record stands for the loaded sets only while all of it
  /// matches the kernel's present state.
  public struct Scope: Sendable, Hashable {
    /// The kernel's boot id: namespace cookies and generations start again at each boot.
    public var boot: String
    /// The network namespace's cookie (`SO_NETNS_COOKIE`), never reused while the kernel runs.
    public var namespace: UInt64
    public var table: String
    /// The ruleset's generation just after ipnat's transaction.
    public var generation: UInt32

    public init(boot: String, namespace: UInt64, table: String, generation: UInt32) {
      (self.boot, self.namespace, self.table, self.generation) = (boot, namespace, table, generation)
    }
  }

  public var scope: Scope
  /// Named sets by name, each with its elements as they were sent.
  public var sets: [String: [KernelElement]]
  /// What each set of ``sets`` is, apart from its elements.
  public var definitions: [String: TableImage.SetDefinition]
  /// How many rules the table has.
  public var ruleCount: Int
  /// What the table was compiled from, if the loader knew (``KernelTable/source``): a later
  /// load of the same file with a few lines changed compiles only those lines.
  public var source: CompiledSource?

  public init(scope: Scope, sets: [String: [KernelElement]], definitions: [String: TableImage.SetDefinition] = [:],
              ruleCount: Int = 0, source: CompiledSource? = nil) {
    (self.scope, self.sets, self.definitions) = (scope, sets, definitions)
    (self.ruleCount, self.source) = (ruleCount, source)
  }

  /// The record of `table` once loaded in `scope`: its named sets whose elements only a
  /// transaction changes. A set with timeouts loses elements as they expire, with no
  /// transaction; those are always read back.
  public init(of table: KernelTable, in scope: Scope) {
    var sets: [String: [KernelElement]] = [:]
    var definitions: [String: TableImage.SetDefinition] = [:]
    for set in table.sets where !set.isAnonymous && !set.flags.contains(.timeout) {
      sets[set.name] = set.elements
      definitions[set.name] = TableImage.SetDefinition(set)
    }
    self.init(scope: scope, sets: sets, definitions: definitions, ruleCount: table.rules.count, source: table.source)
  }

  /// Whether the elements of a loaded set with these flags can be taken from a record: only a
  /// committed transaction changes them (no timeouts, no updates from the packet path).
  public static func coversSet(withFlags flags: UInt32) -> Bool {
    flags & (KernelSet.Flags.timeout.rawValue | Self.evaluationFlag) == 0
  }

  /// `NFT_SET_EVAL`: a set that rules add elements to as packets pass.
  private static let evaluationFlag: UInt32 = 0x20
}

// MARK: - Bytes

extension LoadRecord {
  /// The first bytes of a record file, with its format's version.
  private static let magic = Array("ipnat load record 3\n".utf8)

  /// The line every record file starts with (for the fuzzer).
  public static var header: [UInt8] { magic }

  /// Whether `other` holds the same: every field, and each set's elements in any order.
  public func holdsTheSame(as other: LoadRecord) -> Bool {
    scope == other.scope && definitions == other.definitions && ruleCount == other.ruleCount && source == other.source
      && sets.keys.sorted() == other.sets.keys.sorted()
      && sets.allSatisfy { name, elements in
        let difference = ElementDifference(from: elements, to: other.sets[name]!)
        return elements.count == other.sets[name]!.count && difference.deleting.isEmpty && difference.adding.isEmpty
      }
  }

  /// The record as bytes: ``magic``, then every field, integers little-endian, byte strings
  /// after their lengths.
  public func encoded() -> [UInt8] {
    var writer = RecordWriter(sink: nil)
    // Room for the whole record at once: a key, data and their lengths come to some 50 bytes.
    let elementCount = sets.values.reduce(0) { $0 + $1.count }
    writer.bytes.reserveCapacity(4096 + elementCount * 64 + (source.map { $0.text.count + $0.ruleTextHashes.count * 8 } ?? 0))
    write(to: &writer)
    return writer.bytes
  }

  /// The bytes of ``encoded()``, handed to `sink` a piece at a time (64 KiB, or a byte string
  /// as it stands): a large file's record is some 12 MB, which `load`, at the end, when it
  /// holds the most, need not hold whole too.
  public func encode(to sink: @escaping (UnsafeRawBufferPointer) -> Void) {
    var writer = RecordWriter(sink: sink)
    writer.bytes.reserveCapacity(RecordWriter.pieceSize)
    write(to: &writer)
    writer.flush()
  }

  private func write(to writer: inout RecordWriter) {
    writer.bytes.append(contentsOf: Self.magic)
    writer.string(scope.boot)
    writer.integer(scope.namespace)
    writer.string(scope.table)
    writer.integer(UInt64(scope.generation))
    writer.integer(UInt64(sets.count))
    for name in sets.keys.sorted() {
      writer.string(name)
      writer.definition(definitions[name])
      let elements = sets[name]!
      writer.integer(UInt64(elements.count))
      for element in elements { writer.element(element) }
    }
    writer.integer(UInt64(ruleCount))
    writer.source(source)
  }

  /// The record `bytes` encode, or nil if they are not one (another version, cut short,
  /// damaged): the caller then reads the table back.
  /// `keepingSource`: false leaves ``source`` out (an update that only compares the maps).
  public init?(decoding bytes: [UInt8], keepingSource: Bool = true) {
    guard bytes.starts(with: Self.magic) else { return nil }
    var reader = RecordReader(bytes: bytes, offset: Self.magic.count)
    guard let scope = reader.scope(), let setCount = reader.integer() else { return nil }
    var sets: [String: [KernelElement]] = [:]
    var definitions: [String: TableImage.SetDefinition] = [:]
    for _ in 0..<min(setCount, UInt64(bytes.count)) {
      var definition: TableImage.SetDefinition?
      guard let name = reader.string(), reader.definition(into: &definition), let count = reader.integer(),
        count <= UInt64(bytes.count)
      else { return nil }
      var elements: [KernelElement] = []
      elements.reserveCapacity(Int(count))
      for _ in 0..<count {
        guard let element = reader.element() else { return nil }
        elements.append(element)
      }
      (sets[name], definitions[name]) = (elements, definition)
    }
    var source: CompiledSource?
    guard sets.count == setCount, let ruleCount = reader.integer().flatMap(Int.init(exactly:)),
      reader.source(into: &source, keeping: keepingSource), reader.isAtEnd
    else { return nil }
    self.init(scope: scope, sets: sets, definitions: definitions, ruleCount: ruleCount, source: source)
  }

  /// The scope a record's bytes begin with, read from as few of them as hold it (a record's
  /// first ``scopeBytes`` always do): a reader can tell a record of another namespace or
  /// generation without reading all of it, some 12 MB for a large file.
  public static func scope(atStartOf bytes: [UInt8]) -> Scope? {
    guard bytes.starts(with: magic) else { return nil }
    var reader = RecordReader(bytes: bytes, offset: magic.count)
    return reader.scope()
  }

  /// Enough bytes for any record's scope: a boot id is 36 bytes, and a table name at most 256.
  public static let scopeBytes = 1024
}

/// Which of an element's optional parts follow its key, one bit each.
private struct ElementParts: OptionSet {
  let rawValue: UInt8
  static let keyEnd = ElementParts(rawValue: 1 << 0)
  static let data = ElementParts(rawValue: 1 << 1)
  static let verdict = ElementParts(rawValue: 1 << 2)
  static let verdictChain = ElementParts(rawValue: 1 << 3)
  static let intervalEnd = ElementParts(rawValue: 1 << 4)
  static let timeout = ElementParts(rawValue: 1 << 5)
  static let userdata = ElementParts(rawValue: 1 << 6)
}

private struct RecordWriter {
  static let pieceSize = 1 << 16

  var bytes: [UInt8] = []
  /// Takes the bytes written so far whenever they come to ``pieceSize``; without it, they all
  /// stay in ``bytes``.
  let sink: ((UnsafeRawBufferPointer) -> Void)?

  mutating func flush() {
    guard let sink, !bytes.isEmpty else { return }
    bytes.withUnsafeBytes(sink)
    bytes.removeAll(keepingCapacity: true)
  }

  mutating func integer(_ value: UInt64) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    if bytes.count >= Self.pieceSize { flush() }
  }

  mutating func data(_ value: [UInt8]) {
    integer(UInt64(value.count))
    guard let sink, value.count >= Self.pieceSize else { return bytes.append(contentsOf: value) }
    // The file's text, most of a record: handed over as it stands, not copied.
    flush()
    value.withUnsafeBytes(sink)
  }

  mutating func string(_ value: String) { data(Array(value.utf8)) }

  mutating func definition(_ definition: TableImage.SetDefinition?) {
    guard let definition else { return bytes.append(0) }
    bytes.append(1)
    integer(UInt64(definition.flags.rawValue))
    integer(UInt64(definition.keyType))
    integer(UInt64(definition.keyLength))
    integer(definition.dataType.map { UInt64($0) | 1 << 32 } ?? 0)
    integer(UInt64(definition.dataLength))
    data(definition.userdata)
    data(definition.concatenationFieldLengths)
  }

  mutating func source(_ source: CompiledSource?) {
    guard let source else { return bytes.append(0) }
    bytes.append(1)
    string(source.path)
    string(source.settings)
    data(source.text)
    data(source.singleStatementLines)
    integer(UInt64(source.ruleTextHashes.count))
    for hash in source.ruleTextHashes { integer(hash) }
    integer(UInt64(source.foldedLines.count))
    for name in source.foldedLines.keys.sorted() {
      string(name)
      let lines = source.foldedLines[name]!
      integer(UInt64(lines.count))
      for line in lines { integer(UInt64(line)) }
    }
    integer(UInt64(source.variables.count))
    for name in source.variables.keys.sorted() {
      string(name)
      string(source.variables[name]!)
    }
    data(source.footprints)
  }

  mutating func element(_ element: KernelElement) {
    var parts: ElementParts = []
    if element.keyEnd != nil { parts.insert(.keyEnd) }
    if element.data != nil { parts.insert(.data) }
    if element.verdict != nil { parts.insert(.verdict) }
    if element.verdict?.chain != nil { parts.insert(.verdictChain) }
    if element.isIntervalEnd { parts.insert(.intervalEnd) }
    if element.timeout != nil { parts.insert(.timeout) }
    if element.userdata != nil { parts.insert(.userdata) }
    bytes.append(parts.rawValue)
    data(element.key)
    if let keyEnd = element.keyEnd { data(keyEnd) }
    if let value = element.data { data(value) }
    if let verdict = element.verdict {
      integer(UInt64(UInt32(bitPattern: verdict.code)))
      if let chain = verdict.chain { string(chain) }
    }
    if let timeout = element.timeout { integer(timeout) }
    if let userdata = element.userdata { data(userdata) }
  }
}

private struct RecordReader {
  let bytes: [UInt8]
  var offset: Int

  var isAtEnd: Bool { offset == bytes.count }

  mutating func scope() -> LoadRecord.Scope? {
    guard let boot = string(), let namespace = integer(), let table = string(),
      let generation = integer().flatMap(UInt32.init(exactly:))
    else { return nil }
    return LoadRecord.Scope(boot: boot, namespace: namespace, table: table, generation: generation)
  }

  mutating func integer() -> UInt64? {
    guard bytes.count - offset >= 8 else { return nil }
    var value: UInt64 = 0
    for index in (0..<8).reversed() { value = value << 8 | UInt64(bytes[offset + index]) }
    offset += 8
    return value
  }

  mutating func data() -> [UInt8]? {
    guard let count = integer(), count <= UInt64(bytes.count - offset) else { return nil }
    defer { offset += Int(count) }
    return Array(bytes[offset..<offset + Int(count)])
  }

  /// Moves past a byte string; answers it empty.
  mutating func skippingData() -> [UInt8]? {
    guard let count = integer(), count <= UInt64(bytes.count - offset) else { return nil }
    offset += Int(count)
    return []
  }

  mutating func string() -> String? {
    data().flatMap { String(validating: $0, as: UTF8.self) }
  }

  mutating func flag() -> Bool? {
    guard offset < bytes.count, bytes[offset] <= 1 else { return nil }
    defer { offset += 1 }
    return bytes[offset] == 1
  }

  mutating func word() -> UInt32? { integer().flatMap(UInt32.init(exactly:)) }

  /// Reads a set's definition, or the mark of none; false if the bytes are neither.
  mutating func definition(into definition: inout TableImage.SetDefinition?) -> Bool {
    guard let present = flag() else { return false }
    guard present else { return true }
    guard let flags = word(), let keyType = word(), let keyLength = word(), let data = integer(),
      data == 0 || data >> 32 == 1, let dataLength = word(), let userdata = self.data(),
      let fieldLengths = self.data()
    else { return false }
    definition = TableImage.SetDefinition(flags: KernelSet.Flags(rawValue: flags), keyType: keyType, keyLength: keyLength,
                                          dataType: data == 0 ? nil : UInt32(truncatingIfNeeded: data),
                                          dataLength: dataLength, userdata: userdata, concatenationFieldLengths: fieldLengths)
    return true
  }

  /// Reads a source, or the mark of none; false if the bytes are neither.
  /// Without `keeping`, the source is read through and left out, its text never copied.
  mutating func source(into source: inout CompiledSource?, keeping: Bool) -> Bool {
    guard let present = flag() else { return false }
    guard present else { return true }
    guard let path = string(), let settings = string(), let text = keeping ? data() : skippingData(), let lines = data(),
      let count = integer(), count <= UInt64(bytes.count - offset) / 8
    else { return false }
    var hashes: [UInt64] = []
    hashes.reserveCapacity(Int(count))
    for _ in 0..<count { hashes.append(integer()!) }
    guard let mapCount = integer(), mapCount <= UInt64(bytes.count - offset) else { return false }
    var foldedLines: [String: [Int]] = [:]
    for _ in 0..<mapCount {
      guard let name = string(), let count = integer(), count <= UInt64(bytes.count - offset) / 8 else { return false }
      var members: [Int] = []
      members.reserveCapacity(Int(count))
      for _ in 0..<count {
        guard let line = integer().flatMap(Int.init(exactly:)) else { return false }
        members.append(line)
      }
      foldedLines[name] = members
    }
    guard foldedLines.count == mapCount, let variableCount = integer(), variableCount <= UInt64(bytes.count - offset)
    else { return false }
    var variables: [String: String] = [:]
    for _ in 0..<variableCount {
      guard let name = string(), let value = string() else { return false }
      variables[name] = value
    }
    guard variables.count == variableCount, let footprints = keeping ? data() : skippingData() else { return false }
    guard keeping else { return true }
    source = CompiledSource(path: path, settings: settings, text: text, singleStatementLines: lines,
                            ruleTextHashes: hashes, foldedLines: foldedLines, variables: variables, footprints: footprints)
    return true
  }

  mutating func element() -> KernelElement? {
    guard offset < bytes.count else { return nil }
    let parts = ElementParts(rawValue: bytes[offset])
    offset += 1
    guard parts.rawValue < 1 << 7, parts.contains(.verdict) || !parts.contains(.verdictChain),
      let key = data()
    else { return nil }
    var element = KernelElement(key: key, isIntervalEnd: parts.contains(.intervalEnd))
    if parts.contains(.keyEnd) { guard let keyEnd = data() else { return nil }; element.keyEnd = keyEnd }
    if parts.contains(.data) { guard let value = data() else { return nil }; element.data = value }
    if parts.contains(.verdict) {
      guard let code = integer().flatMap(UInt32.init(exactly:)) else { return nil }
      var chain: String?
      if parts.contains(.verdictChain) { guard let name = string() else { return nil }; chain = name }
      element.verdict = KernelVerdict(code: Int32(bitPattern: code), chain: chain)
    }
    if parts.contains(.timeout) { guard let timeout = integer() else { return nil }; element.timeout = timeout }
    if parts.contains(.userdata) { guard let userdata = data() else { return nil }; element.userdata = userdata }
    return element
  }
}
