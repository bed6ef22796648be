import IPAddressing
import NFTModel

/// The footprints of every NAT-chain rule of a compiled file, as bytes a load record keeps
/// (`CompiledSource.footprints`): with them, a reload can tell that a rule may match another
/// port or address without changing where any rule folds, and patch that rule's map element
/// alone.
///
/// Each entry is the rule's line, its chain, the length of what follows, and its footprint;
/// the entries are in each chain's search order, dstnat's first, as folding reads them.
public enum FootprintRecord {
  /// The entries of one chain's rules, in search order.
  static func encode(_ entries: [FoldEntry], chain: NATChain) -> [UInt8] {
    var writer = ByteWriter()
    // Most entries take 20 to 30 bytes.
    writer.bytes.reserveCapacity(entries.count * 32)
    for entry in entries { writer.entry(line: entry.origin?.line ?? 0, chain: chain, Footprint(entry)) }
    return writer.bytes
  }

  /// `recorded` with line `line`'s entries changed from those of `old` to those of `new` (each
  /// the footprints of the line compiled alone), where that change moves no rule. Folding
  /// (`RuleFolder`) then decides for every rule as it did, because:
  ///
  /// - the line has at most one rule in each chain, before and after;
  /// - its footprints differ only in their ports and in the address of the network on the
  ///   chain's key side, not its length: the rule keeps its place in search order;
  /// - they overlap no other rule of their chain, before or after: the rule blocks no rule
  ///   and no rule blocks it, and it repeats no other's key;
  /// - where the address changed, neither network's blocker buckets (`BlockerIndex`) can
  ///   reach the limit, counting every rule of the chain: no group closes, or stays open,
  ///   because of the move.
  ///
  /// Nil otherwise, or if `recorded` does not hold `old` for the line.
  public static func movingMatches(ofLine line: Int, from old: [UInt8], to new: [UInt8], in recorded: [UInt8])
    -> [UInt8]?
  {
    guard let before = decode(old), let after = decode(new), before.count == after.count,
      Set(before.map(\.chain)).count == before.count
    else { return nil }
    for (old, new) in zip(before, after) {
      let keySide: Side = old.chain == .dstnat ? .destination : .source
      guard old.chain == new.chain, old.footprint.unkeyed(on: keySide) == new.footprint.unkeyed(on: keySide),
        isAlone(line: line, as: old.footprint, and: new.footprint, in: old.chain, keyedOn: keySide, of: recorded)
      else { return nil }
    }
    return replacing(line: line, with: after, in: recorded)
  }

  /// Whether `recorded` holds `old` for the line's rule in `chain`, no other rule of the chain
  /// may overlap it, or `new`, and, if their networks differ, neither network's buckets fill.
  private static func isAlone(line: Int, as old: Footprint, and new: Footprint, in chain: NATChain, keyedOn keySide: Side,
                              of recorded: [UInt8]) -> Bool {
    var reader = ByteReader(recorded)
    var found = false
    var moved: (old: AddressPrefix, new: AddressPrefix)?
    if let oldNetwork = old.network(on: keySide), let newNetwork = new.network(on: keySide), oldNetwork != newNetwork {
      moved = (oldNetwork, newNetwork)
    }
    // The other rules' networks, where the move changes which buckets the rule is filed in.
    var others: [AddressPrefix] = []
    while !reader.isAtEnd {
      guard let (entryLine, entryChain, length) = reader.entryHeader() else { return false }
      guard entryChain == chain else {
        guard reader.skip(length) else { return false }
        continue
      }
      let end = reader.offset + length
      if entryLine == line {
        guard reader.footprint() == old, reader.offset == end else { return false }
        found = true
        continue
      }
      guard let footprint = reader.footprint(overlapping: old, or: new, endingAt: end), reader.offset == end,
        !footprint.mayOverlap(old), !footprint.mayOverlap(new)
      else { return false }
      if moved != nil, let network = footprint.network(on: keySide) { others.append(network) }
    }
    guard let moved else { return found }
    return found && staysUnderBucketLimit(moved.old, among: others) && staysUnderBucketLimit(moved.new, among: others)
  }

  /// Whether a rule keyed by `network`, filed as folding files blockers
  /// (`BlockerIndex.forEachBucket`) beside the rules keyed by `others`, leaves each of its
  /// buckets within the limit. Counted over the whole chain, which holds any group's blockers,
  /// and at every length some network of the family has, which the candidates' lengths are
  /// among: more than any index holds.
  private static func staysUnderBucketLimit(_ network: AddressPrefix, among others: [AddressPrefix]) -> Bool {
    let family = others.filter { $0.family == network.family }
    let lengths = Set(family.map(\.length)).sorted()
    var counts: [BlockerIndex.Bucket: Int] = [:]
    BlockerIndex.forEachBucket(of: network, candidateLengths: lengths) { counts[$0] = 1 }
    for other in family {
      BlockerIndex.forEachBucket(of: other, candidateLengths: lengths) { bucket in
        if let count = counts[bucket] { counts[bucket] = count + 1 }
      }
    }
    return counts.values.allSatisfy { $0 <= BlockerIndex.bucketLimit }
  }

  /// `recorded` with the entries of line `line` replaced by `entries`, chain by chain.
  private static func replacing(line: Int, with entries: [(line: Int, chain: NATChain, footprint: Footprint)],
                                in recorded: [UInt8]) -> [UInt8]? {
    var reader = ByteReader(recorded)
    var writer = ByteWriter()
    writer.bytes.reserveCapacity(recorded.count + 64)
    while !reader.isAtEnd {
      let start = reader.offset
      guard let (entryLine, chain, length) = reader.entryHeader(), reader.skip(length) else { return nil }
      if entryLine == line, let entry = entries.first(where: { $0.chain == chain }) {
        writer.entry(line: line, chain: chain, entry.footprint)
      } else {
        writer.bytes += recorded[start..<reader.offset]
      }
    }
    return writer.bytes
  }

  /// Every entry, or nil for bytes that are not a record's.
  static func decode(_ bytes: [UInt8]) -> [(line: Int, chain: NATChain, footprint: Footprint)]? {
    var reader = ByteReader(bytes)
    var entries: [(line: Int, chain: NATChain, footprint: Footprint)] = []
    while !reader.isAtEnd {
      guard let (line, chain, length) = reader.entryHeader() else { return nil }
      let bodyStart = reader.offset
      guard let footprint = reader.footprint(), reader.offset == bodyStart + length else { return nil }
      entries.append((line, chain, footprint))
    }
    return entries
  }
}

extension Footprint {
  /// The footprint without its ports, and with only the family and length of its network on
  /// `keySide`: what a rule's matches may change and keep its place.
  func unkeyed(on keySide: Side) -> Footprint {
    var footprint = self
    footprint.destinationPorts = nil
    if let network = network(on: keySide) {
      let placeholder = AddressPrefix(IPAddress(family: network.family, bits: 0), length: network.length)
      if keySide == .source { footprint.source = placeholder } else { footprint.destination = placeholder }
    }
    return footprint
  }
}

/// Which of a footprint's optional parts are present, one bit each.
private struct FootprintParts: OptionSet {
  let rawValue: UInt8
  static let family = FootprintParts(rawValue: 1 << 0)
  static let inputInterfaces = FootprintParts(rawValue: 1 << 1)
  static let outputInterfaces = FootprintParts(rawValue: 1 << 2)
  static let protocols = FootprintParts(rawValue: 1 << 3)
  static let source = FootprintParts(rawValue: 1 << 4)
  static let destination = FootprintParts(rawValue: 1 << 5)
  static let destinationPorts = FootprintParts(rawValue: 1 << 6)
}

private struct ByteWriter {
  var bytes: [UInt8] = []

  mutating func entry(line: Int, chain: NATChain, _ footprint: Footprint) {
    integer(UInt64(line))
    bytes.append(UInt8(chain.rawValue))
    // The footprint goes after its length, which is known once it is written: one byte is
    // kept for the length, and the footprint moved on in the rare case it needs more.
    let lengthAt = bytes.count
    bytes.append(0)
    self.footprint(footprint)
    let length = bytes.count - lengthAt - 1
    if length < 0x80 { return bytes[lengthAt] = UInt8(length) }
    var prefix = ByteWriter()
    prefix.integer(UInt64(length))
    bytes.replaceSubrange(lengthAt...lengthAt, with: prefix.bytes)
  }

  mutating func footprint(_ footprint: Footprint) {
    var parts: FootprintParts = []
    if footprint.family != nil { parts.insert(.family) }
    if footprint.inputInterfaces != nil { parts.insert(.inputInterfaces) }
    if footprint.outputInterfaces != nil { parts.insert(.outputInterfaces) }
    if footprint.protocols != nil { parts.insert(.protocols) }
    if footprint.source != nil { parts.insert(.source) }
    if footprint.destination != nil { parts.insert(.destination) }
    if footprint.destinationPorts != nil { parts.insert(.destinationPorts) }
    bytes.append(parts.rawValue)
    // Family, addresses and ports first: they are read without allocating, and are enough to
    // tell most rules apart (`ByteReader.footprint(overlapping:or:endingAt:)`).
    if let family = footprint.family { bytes.append(family == .inet ? 4 : 6) }
    if let source = footprint.source { prefix(source) }
    if let destination = footprint.destination { prefix(destination) }
    if let ports = footprint.destinationPorts {
      integer(ports.lowerBound)
      integer(ports.upperBound)
    }
    if let names = footprint.inputInterfaces { strings(names) }
    if let names = footprint.outputInterfaces { strings(names) }
    if let protocols = footprint.protocols {
      integer(UInt64(protocols.count))
      bytes += protocols
    }
  }

  /// LEB128: seven bits a byte, low first.
  mutating func integer(_ value: UInt64) {
    var value = value
    while value >= 0x80 {
      bytes.append(UInt8(value & 0x7f) | 0x80)
      value >>= 7
    }
    bytes.append(UInt8(value))
  }

  mutating func strings(_ strings: [String]) {
    integer(UInt64(strings.count))
    for string in strings {
      integer(UInt64(string.utf8.count))
      bytes += string.utf8
    }
  }

  mutating func prefix(_ prefix: AddressPrefix) {
    bytes.append(prefix.family == .inet ? 4 : 6)
    let width = prefix.family.width / 8
    for index in (0..<width).reversed() { bytes.append(UInt8(truncatingIfNeeded: prefix.address.bits >> (index * 8))) }
    bytes.append(UInt8(prefix.length))
  }
}

private struct ByteReader {
  let bytes: [UInt8]
  private(set) var offset = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  var isAtEnd: Bool { offset == bytes.count }

  mutating func entryHeader() -> (line: Int, chain: NATChain, length: Int)? {
    guard let line = integer().flatMap(Int.init(exactly:)), let chain = byte().flatMap({ NATChain(rawValue: Int($0)) }),
      let length = integer().flatMap(Int.init(exactly:)), length <= bytes.count - offset
    else { return nil }
    return (line, chain, length)
  }

  mutating func skip(_ count: Int) -> Bool {
    guard count <= bytes.count - offset else { return false }
    offset += count
    return true
  }

  mutating func footprint() -> Footprint? {
    guard let (parts, footprint) = addressesAndPorts() else { return nil }
    return rest(of: footprint, parts)
  }

  /// The next footprint if it may overlap `first` or `second`, else a footprint that overlaps
  /// neither (with the rest of the entry skipped, unread, once its family, addresses and ports
  /// tell it apart: a footprint that lacks parts covers more packets).
  mutating func footprint(overlapping first: borrowing Footprint, or second: borrowing Footprint, endingAt end: Int)
    -> Footprint?
  {
    guard let (parts, partial) = addressesAndPorts() else { return nil }
    guard partial.mayOverlap(first) || partial.mayOverlap(second) else {
      guard end >= offset, skip(end - offset) else { return nil }
      return partial
    }
    return rest(of: partial, parts)
  }

  private mutating func addressesAndPorts() -> (FootprintParts, Footprint)? {
    guard let rawParts = byte() else { return nil }
    let parts = FootprintParts(rawValue: rawParts)
    var footprint = Footprint()
    if parts.contains(.family) {
      guard let family = byte().flatMap(Self.family) else { return nil }
      footprint.family = family
    }
    if parts.contains(.source) {
      guard let source = prefix() else { return nil }
      footprint.source = source
    }
    if parts.contains(.destination) {
      guard let destination = prefix() else { return nil }
      footprint.destination = destination
    }
    if parts.contains(.destinationPorts) {
      guard let low = integer(), let high = integer(), low <= high else { return nil }
      footprint.destinationPorts = low...high
    }
    return (parts, footprint)
  }

  private mutating func rest(of footprint: Footprint, _ parts: FootprintParts) -> Footprint? {
    var footprint = footprint
    if parts.contains(.inputInterfaces) {
      guard let names = strings() else { return nil }
      footprint.inputInterfaces = names
    }
    if parts.contains(.outputInterfaces) {
      guard let names = strings() else { return nil }
      footprint.outputInterfaces = names
    }
    if parts.contains(.protocols) {
      guard let count = integer().flatMap(Int.init(exactly:)), count <= bytes.count - offset else { return nil }
      footprint.protocols = Array(bytes[offset..<offset + count])
      offset += count
    }
    return footprint
  }

  mutating func byte() -> UInt8? {
    guard offset < bytes.count else { return nil }
    defer { offset += 1 }
    return bytes[offset]
  }

  mutating func integer() -> UInt64? {
    var value: UInt64 = 0
    for shift in stride(from: 0, to: 64, by: 7) {
      guard let byte = byte() else { return nil }
      value |= UInt64(byte & 0x7f) << shift
      if byte & 0x80 == 0 { return value }
    }
    return nil
  }

  mutating func strings() -> [String]? {
    guard let count = integer(), count <= bytes.count - offset else { return nil }
    var strings: [String] = []
    for _ in 0..<count {
      guard let length = integer().flatMap(Int.init(exactly:)), length <= bytes.count - offset else { return nil }
      strings.append(String(decoding: bytes[offset..<offset + length], as: UTF8.self))
      offset += length
    }
    return strings
  }

  mutating func prefix() -> AddressPrefix? {
    guard let family = byte().flatMap(Self.family), family.width / 8 <= bytes.count - offset else { return nil }
    var bits: UInt128 = 0
    for _ in 0..<family.width / 8 { bits = bits << 8 | UInt128(bytes[offset]); offset += 1 }
    guard let length = byte(), Int(length) <= family.width else { return nil }
    return AddressPrefix(IPAddress(family: family, bits: bits), length: Int(length))
  }

  private static func family(_ byte: UInt8) -> IPFamily? {
    switch byte {
    case 4: .inet
    case 6: .inet6
    default: nil
    }
  }
}
