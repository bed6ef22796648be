import IPAddressing

/// The footprints of the rules that sit between a fold group and the end of its chain: a rule
/// that joins the group moves ahead of all of them, so it must overlap none.
///
/// Footprints are filed by the network on the chain's key side, so that a candidate (which
/// always has one) looks up only the blockers whose networks could intersect its own: those
/// that contain it, found by truncating its network to each length present, and those inside
/// it, filed in advance under every shorter length a candidate uses. When a bucket grows past
/// `bucketLimit`, the index answers "may overlap": the group closes and a new one opens, which
/// keeps folding linear in the number of rules whatever the input.
struct BlockerIndex {
  static let bucketLimit = 256

  private let keySide: Side
  private let candidateLengths: [IPFamily: [Int]]
  private var containing: [AddressPrefix: [Footprint]] = [:]
  private var lengths: [IPFamily: Set<Int>] = [:]
  private var contained: [AddressPrefix: [Footprint]] = [:]
  private var unaddressed: [Footprint] = []
  private var isSaturated = false

  /// Whether no footprint was added (each is filed under its network or with the unaddressed):
  /// then nothing can overlap, and no footprint need be read.
  var isEmpty: Bool { unaddressed.isEmpty && containing.isEmpty }

  init(keySide: Side, candidateLengths: [IPFamily: [Int]]) {
    self.keySide = keySide
    self.candidateLengths = candidateLengths
  }

  mutating func add(_ footprint: Footprint) {
    guard !isSaturated else { return }
    guard let network = footprint.network(on: keySide) else {
      unaddressed.append(footprint)
      isSaturated = unaddressed.count > Self.bucketLimit
      return
    }
    let family = network.address.family
    isSaturated = Self.file(footprint, under: network, in: &containing) || isSaturated
    lengths[family, default: []].insert(network.length)
    for length in candidateLengths[family] ?? [] where length < network.length {
      isSaturated = Self.file(footprint, under: network.truncated(to: length), in: &contained) || isSaturated
    }
  }

  /// Whether a rule keyed by `network` may move ahead of every blocker. Its footprint is read
  /// only if there is a blocker to check it against.
  func admits(_ footprint: @autoclosure () -> Footprint, keyedBy network: AddressPrefix) -> Bool {
    isEmpty || !mayOverlap(footprint(), keyedBy: network)
  }

  /// Whether a rule keyed by `network` might match a packet one of the blockers matches.
  func mayOverlap(_ footprint: Footprint, keyedBy network: AddressPrefix) -> Bool {
    if isSaturated { return true }
    if unaddressed.contains(where: { $0.mayOverlap(footprint) }) { return true }
    for length in lengths[network.address.family] ?? [] where length <= network.length {
      if containing[network.truncated(to: length)]?.contains(where: { $0.mayOverlap(footprint) }) == true { return true }
    }
    return contained[network]?.contains(where: { $0.mayOverlap(footprint) }) == true
  }

  /// Files a footprint; returns whether its bucket is now over the limit.
  private static func file(_ footprint: Footprint, under network: AddressPrefix,
                           in buckets: inout [AddressPrefix: [Footprint]]) -> Bool {
    buckets[network, default: []].append(footprint)
    return buckets[network]!.count > bucketLimit
  }
}

extension Footprint {
  func network(on side: Side) -> AddressPrefix? { side == .source ? source : destination }
}
