import NFTModel

/// What a set's keys or data are: one type, or a concatenation; single values or intervals.
struct ValueShape: Hashable {
  var types: [ValueType]
  var isInterval: Bool
  /// Host-order integers kept in network byte order: the kernel orders an interval map's keys
  /// by their bytes, so nft turns a host-order key (numgen's count) round with a `byteorder`
  /// expression before looking it up, and stores the ranges' ends big endian.
  var isTurnedRound = false

  init(_ types: [ValueType], interval: Bool = false) {
    self.types = types
    self.isInterval = interval
  }

  /// Bytes of one value: a lone type takes its own length; each part of a concatenation takes
  /// whole 32-bit registers. Interval data holds the low values, then the high ones.
  var length: Int { isInterval ? 2 * valueLength : valueLength }

  /// Bytes of a single value: what a key takes, interval or not.
  var valueLength: Int {
    types.count == 1 ? types[0].length : types.reduce(0) { $0 + Self.registerAligned($1.length) }
  }

  /// nft's type number: a concatenation packs its parts six bits each.
  var typeNumber: UInt32 { types.dropFirst().reduce(types[0].rawValue) { $0 << 6 | $1.rawValue } }

  /// nft writes "byte order 0" for concatenations.
  var byteOrder: UInt32 { types.count == 1 ? (isTurnedRound ? 2 : types[0].byteOrder) : 0 }

  static func registerAligned(_ length: Int) -> Int { (length + 3) / 4 * 4 }

  /// The bytes of a value: a constant, or for interval data a prefix, range or `a . lo-hi`.
  func bytes(of value: Expression) throws(LinearizationError) -> [UInt8] {
    let (low, high) = try bounds(of: value, withHigh: isInterval)
    return isInterval ? low + high : low
  }

  /// The bytes of the first and the last value a value stands for, part by part.
  func bounds(of value: Expression) throws(LinearizationError) -> (low: [UInt8], high: [UInt8]) {
    try bounds(of: value, withHigh: true)
  }

  /// `withHigh`: whether the last value is wanted too (`high` is empty otherwise); a constant
  /// key, as a folded map has one per rule, needs only its first.
  private func bounds(of value: Expression, withHigh: Bool) throws(LinearizationError) -> (low: [UInt8], high: [UInt8]) {
    let parts: [Expression]
    if types.count == 1 {
      parts = [value]
    } else if case .concatenation(let members) = value, members.count == types.count {
      parts = members
    } else {
      throw .unsupported("the map value \(value)")
    }
    // Appended in place into room made once.
    let width = types.reduce(0) { $0 + (types.count == 1 ? $1.length : Self.registerAligned($1.length)) }
    var low: [UInt8] = []
    var high: [UInt8] = []
    low.reserveCapacity(width)
    if withHigh { high.reserveCapacity(width) }
    for (part, type) in zip(parts, types) {
      var (partLow, partHigh) = try Self.bounds(of: part, as: type)
      if isTurnedRound && type.byteOrder == 1 { (partLow, partHigh) = (partLow.reversed(), partHigh.reversed()) }
      let partWidth = types.count == 1 ? type.length : Self.registerAligned(type.length)
      low.append(contentsOf: partLow)
      low.append(contentsOf: repeatElement(0, count: partWidth - partLow.count))
      guard withHigh else { continue }
      high.append(contentsOf: partHigh)
      high.append(contentsOf: repeatElement(0, count: partWidth - partHigh.count))
    }
    return (low, high)
  }

  /// A key of several parts whose values are ranges: the kernel matches each part against a
  /// range of its own (its pipapo set type), and an element holds its first and last key.
  var isConcatenatedInterval: Bool { isInterval && types.count > 1 }

  /// `NFTA_SET_DESC_CONCAT`: each part's length in bytes.
  var fieldLengths: [UInt8] { types.map { UInt8($0.length) } }

  /// The first and last value an expression stands for.
  static func bounds(of value: Expression, as type: ValueType) throws(LinearizationError) -> ([UInt8], [UInt8]) {
    switch value {
    case .prefix(let address, let length):
      let low = ValueEncoding.addressBytes(address)
      let mask = ValueEncoding.prefixMask(length: length, width: low.count)
      return (zip(low, mask).map { $0 & $1 }, zip(low, mask).map { $0 | ~$1 })
    case .addressRange(let low, let high):
      return (ValueEncoding.addressBytes(low), ValueEncoding.addressBytes(high))
    case .integerRange(let low, let high):
      return (try ValueEncoding.integerBytes(low, as: type), try ValueEncoding.integerBytes(high, as: type))
    default:
      let bytes = try ValueEncoding.bytes(of: value, as: type)
      return (bytes, bytes)
    }
  }
}

/// Builds the kernel's sets: named maps of the table and the anonymous sets and maps that
/// rules write inline, with the ids rules use to refer to them in the same transaction.
struct SetBuilder {
  /// Named maps, then the anonymous sets of rules not yet taken by `takeAnonymousSets()`.
  private(set) var sets: [KernelSet] = []
  private var namedCount = 0
  private var lastID: UInt32 = 0
  private var namedShapes: [String: (key: ValueShape, data: ValueShape, id: UInt32)] = [:]

  /// What nft's `typeof` records for an expression kind (`enum expr_types`).
  enum ExpressionKind: UInt32 {
    case verdict = 1, meta = 9, concatenation = 13
  }

  func shape(ofMap name: String) throws(LinearizationError) -> (key: ValueShape, data: ValueShape, id: UInt32) {
    guard let shape = namedShapes[name] else { throw .unknownMap(name) }
    return shape
  }

  /// The map's elements are let go as they are encoded: a 100,000-element map's IR would
  /// otherwise stay whole beside its kernel form, and a load would need the most memory here.
  mutating func addNamed(_ map: consuming NamedMap) throws(LinearizationError) {
    let key = ValueShape(map.key.map(ValueType.init), interval: map.intervalKey)
    let data = ValueShape(map.data.map(ValueType.init), interval: map.intervalData)
    var entries: [MapElement] = []
    swap(&entries, &map.elements)
    let elements = map.isSet ? try Self.keys(entries, key) : try Self.elements(entries, key: key, data: data)
    var flags: KernelSet.Flags = map.isSet ? [] : [.map]
    if map.intervalKey { flags.insert(.interval) }
    if key.isConcatenatedInterval { flags.insert(.concatenation) }
    if map.timeout { flags.insert(.timeout) }
    if map.dynamic { flags.insert(.dynamic) }
    // nft gives a dynamic set a size, which the kernel needs to bound what packets add.
    let (_, id) = add(name: map.name, flags: flags, key: key, data: map.isSet ? nil : .values(data),
                      size: map.dynamic ? Self.dynamicSetSize : nil, metaKey: nil, elements: elements)
    if key.isConcatenatedInterval { sets[sets.count - 1].concatenationFieldLengths = key.fieldLengths }
    sets[sets.count - 1].timeout = map.defaultTimeout.map { UInt64($0) * 1000 }
    namedShapes[map.name] = (key, data, id)
    namedCount = sets.count
  }

  /// The size nft 1.0.6 gives a dynamic set that declares none.
  static let dynamicSetSize: UInt32 = 65_535

  /// A set's elements: keys alone.
  private static func keys(_ entries: [MapElement], _ key: ValueShape) throws(LinearizationError) -> [KernelElement] {
    try entries.map { entry throws(LinearizationError) in KernelElement(key: try key.bytes(of: entry.key)) }
  }

  /// The `rule_texts` set: a plain set of marks, each element's comment a piece of a rule.
  mutating func addRuleTexts(_ texts: [RuleText]) {
    let shape = ValueShape([.mark])
    let elements = texts.flatMap(\.pieces).map { piece in
      var userdata = TLVWriter()
      userdata.put(Self.elementCommentTLV, string: piece.comment)
      // A mark is in host byte order, as `integerBytes` writes it.
      let key = (0..<4).map { UInt8(truncatingIfNeeded: piece.key >> (8 * $0)) }
      var element = KernelElement(key: key)
      element.userdata = userdata.bytes
      return element
    }
    add(name: RuleText.setName, flags: [], key: shape, data: nil, size: nil, metaKey: nil, elements: elements)
    namedCount = sets.count
  }

  /// `NFTNL_UDATA_SET_ELEM_COMMENT`.
  static let elementCommentTLV: UInt8 = 0

  /// The anonymous sets added since the last call. nft sends each right before the rule that
  /// uses it, and so must we: the kernel finds a new set's transaction by walking back from
  /// the newest, so sets sent long before their rules make a big load quadratic.
  mutating func takeAnonymousSets() -> [KernelSet] {
    defer { sets.removeSubrange(namedCount...) }
    return Array(sets[namedCount...])
  }

  /// An anonymous set (`{ tcp, udp }`); returns its name and id for the lookup.
  /// `metaKey`: the set's key is that meta expression, which nft records as the key's typeof.
  mutating func addAnonymousSet(_ members: [Expression], key: ValueType, metaKey: UInt32?)
    throws(LinearizationError) -> (String, UInt32)
  {
    let keyShape = ValueShape([key])
    let elements = try members.map { member throws(LinearizationError) in
      KernelElement(key: try keyShape.bytes(of: member))
    }
    return add(name: "__set%d", flags: [.anonymous, .constant], key: keyShape, data: nil,
               size: UInt32(members.count), metaKey: metaKey, elements: elements)
  }

  /// An anonymous map written inline (`numgen inc mod 2 map { 0 : a, 1 : b }`).
  mutating func addAnonymousMap(_ entries: [MapElement], key: ValueShape, data: ValueShape)
    throws(LinearizationError) -> (String, UInt32)
  {
    let elements = try Self.elements(entries, key: key, data: data)
    var flags: KernelSet.Flags = [.anonymous, .constant, .map]
    if key.isInterval { flags.insert(.interval) }
    // nft sizes an interval map by its elements, end markers included.
    return add(name: "__map%d", flags: flags, key: key, data: .values(data), size: UInt32(elements.count),
               metaKey: nil, elements: elements)
  }

  /// An anonymous verdict map (`numgen inc mod 3 vmap { 0 : goto c0, … }`).
  mutating func addVerdictMap(_ entries: [(Expression, KernelVerdict)], key: ValueType)
    throws(LinearizationError) -> (String, UInt32)
  {
    let keyShape = ValueShape([key])
    let elements = try entries.map { entry throws(LinearizationError) in
      KernelElement(key: try keyShape.bytes(of: entry.0), verdict: entry.1)
    }
    return add(name: "__map%d", flags: [.anonymous, .constant, .map], key: keyShape, data: .verdict,
               size: UInt32(entries.count), metaKey: nil, elements: elements)
  }

  private enum DataLayout {
    case values(ValueShape)
    case verdict
  }

  @discardableResult
  private mutating func add(name: String, flags: KernelSet.Flags, key: ValueShape, data: DataLayout?,
                            size: UInt32?, metaKey: UInt32?, elements: [KernelElement]) -> (String, UInt32)
  {
    lastID += 1
    let id = lastID
    var dataType: UInt32?
    var dataLength: UInt32 = 0
    switch data {
    case .values(let shape)?:
      dataType = shape.typeNumber
      dataLength = UInt32(shape.length)
    case .verdict?:
      dataType = 0xffff_ff00
    case nil:
      break
    }
    sets.append(KernelSet(name: name, id: id, flags: flags, keyType: key.typeNumber, keyLength: UInt32(key.valueLength),
                          dataType: dataType, dataLength: dataLength, size: size,
                          userdata: Self.userdata(key: key, data: data, metaKey: metaKey), elements: elements))
    return (name, id)
  }

  /// The TLVs nft 1.0.6 attaches to a set (`NFTNL_UDATA_SET_*`), as observed with `nft --debug=mnl`.
  private static func userdata(key: ValueShape, data: DataLayout?, metaKey: UInt32?) -> [UInt8] {
    var writer = TLVWriter()
    writer.put(0, u32: key.byteOrder)
    switch data {
    case .values(let shape)?:
      writer.put(1, u32: shape.byteOrder)
      if shape.types.count > 1 { writer.put(4, typeof: .concatenation) }
      writer.put(6, u32: shape.isInterval ? 1 : 0)
    case .verdict?:
      writer.put(1, u32: 0)
      writer.put(4, typeof: .verdict)
      writer.put(6, u32: 0)
    case nil:
      if let metaKey { writer.put(3, typeof: .meta, key: metaKey) }
    }
    return writer.bytes
  }

  /// One entry of a map that is not an interval map of a single-part key, as the kernel stores it.
  private static func encode(_ entry: MapElement, key: ValueShape, data: ValueShape) throws(LinearizationError)
    -> KernelElement
  {
    if key.isConcatenatedInterval {
      let (low, high) = try key.bounds(of: entry.key)
      return KernelElement(key: low, keyEnd: high, data: try data.bytes(of: entry.value))
    }
    return KernelElement(key: try key.bytes(of: entry.key), data: try data.bytes(of: entry.value))
  }

  /// The elements of a large map encoded on two threads, a half each: a fold of a 100,000-rule
  /// file has maps of 100,000 entries, and encoding them took about an eighth of `ipnat load`,
  /// with the second core idle. The entries are let go together at the end: freeing them as they are
  /// encoded, as one thread does, raised the peak by 11 MiB (each thread allocates from its own
  /// arena, and the worker's cannot reuse what the other frees).
  private static func encodeInTwo(_ entries: consuming [MapElement], key: ValueShape, data: ValueShape)
    throws(LinearizationError) -> [KernelElement]
  {
    let count = entries.count
    let middle = count / 2
    let input = entries
    var failures: [LinearizationError?] = []
    let elements = [KernelElement](unsafeUninitializedCapacity: count) { buffer, initialized in
      nonisolated(unsafe) let output = buffer.baseAddress!
      failures = TwoThreads.run(true) { half in
        var failure: LinearizationError?
        for index in half == 0 ? 0..<middle : middle..<count {
          do throws(LinearizationError) {
            (output + index).initialize(to: try encode(input[index], key: key, data: data))
          } catch {
            // The array is thrown away; its slot needs a value all the same.
            (output + index).initialize(to: KernelElement(key: []))
            failure = error
          }
        }
        return failure
      }
      initialized = count
    }
    if let failure = failures[0] ?? failures[1] { throw failure }
    return elements
  }

  /// Elements for a map or set: one per key, or for an interval key the half-open ranges nft
  /// sends: a start element carrying the data and an end marker one past the last key (plus a
  /// leading end marker at zero when the first range does not start there).
  /// Each entry is let go once encoded; a large map's, once all are (``encodeInTwo``).
  static func elements(_ entries: consuming [MapElement], key: ValueShape, data: ValueShape)
    throws(LinearizationError) -> [KernelElement]
  {
    if !key.isInterval || key.isConcatenatedInterval {
      // Below a few thousand entries, starting a thread costs more than it saves. The fuzzing
      // build encodes on one thread: under AddressSanitizer the two-thread path ran the
      // linearize target at 35-44 inputs a second against 162 (its seeds hold maps of 65,536
      // entries); LinearizerTests and LoaderTests check that both paths encode alike.
      #if !FUZZING
        if entries.count >= 8192 { return try encodeInTwo(entries, key: key, data: data) }
      #endif
      var elements: [KernelElement] = []
      elements.reserveCapacity(entries.count)
      try entries.drain { entry throws(LinearizationError) in elements.append(try encode(entry, key: key, data: data)) }
      return elements
    }
    var ranges: [(low: [UInt8], high: [UInt8], data: [UInt8]?)] = []
    try entries.drain { entry throws(LinearizationError) in
      let (low, high) = try key.bounds(of: entry.key)
      ranges.append((low, high, try data.bytes(of: entry.value)))
    }
    ranges.sort { $0.low.lexicographicallyPrecedes($1.low) }
    var elements: [KernelElement] = []
    if let first = ranges.first, first.low.contains(where: { $0 != 0 }) {
      elements.append(KernelElement(key: [UInt8](repeating: 0, count: first.low.count), isIntervalEnd: true))
    }
    for range in ranges {
      elements.append(KernelElement(key: range.low, data: range.data))
      if let end = ValueEncoding.successor(of: range.high) {
        elements.append(KernelElement(key: end, isIntervalEnd: true))
      }
    }
    return elements
  }
}

/// nftnl_udata's layout: a one-byte type, a one-byte length, the value.
struct TLVWriter {
  private(set) var bytes: [UInt8] = []

  mutating func put(_ type: UInt8, _ value: [UInt8]) {
    bytes += [type, UInt8(value.count)] + value
  }

  mutating func put(_ type: UInt8, u32 value: UInt32) {
    put(type, (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) })
  }

  /// A `typeof` record: the expression kind, then that kind's own data (for meta, its key).
  mutating func put(_ type: UInt8, typeof kind: SetBuilder.ExpressionKind, key: UInt32? = nil) {
    var nested = TLVWriter()
    nested.put(0, u32: kind.rawValue)
    var data = TLVWriter()
    if let key { data.put(0, u32: key) }
    nested.put(1, data.bytes)
    put(type, nested.bytes)
  }

  /// A NUL-terminated string (rule comments).
  mutating func put(_ type: UInt8, string: String) {
    put(type, Array(string.utf8) + [0])
  }
}
