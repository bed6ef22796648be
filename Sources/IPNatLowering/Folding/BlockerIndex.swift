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
    lengths[family, default: []].insert(network.length)
    Self.forEachBucket(of: network, candidateLengths: candidateLengths[family] ?? []) { bucket in
      switch bucket {
      case .containing(let key): isSaturated = Self.file(footprint, under: key, in: &containing) || isSaturated
      case .contained(let key): isSaturated = Self.file(footprint, under: key, in: &contained) || isSaturated
      }
    }
  }

  /// A bucket of blockers: those of one network, or those inside it, filed under it.
  enum Bucket: Hashable {
    case containing(AddressPrefix)
    case contained(AddressPrefix)
  }

  /// The buckets a blocker keyed by `network` is filed in: its network's own, and its network
  /// cut to each shorter length of `candidateLengths` (those of its family).
  static func forEachBucket(of network: AddressPrefix, candidateLengths: [Int], _ body: (Bucket) -> Void) {
    body(.containing(network))
    for length in candidateLengths where length < network.length { body(.contained(network.truncated(to: length))) }
  }

  /// Whether a rule keyed by `network` may move ahead of every blocker: whether it cannot match
  /// a packet one of them matches. Its footprint is read only if a blocker is filed where its
  /// network could intersect the rule's: most rules that join a group meet none, and reading a
  /// footprint costs more than looking.
  func admits(_ footprint: @autoclosure () -> Footprint, keyedBy network: AddressPrefix) -> Bool {
    if isSaturated { return false }
    // Each footprint is filed under its network or with the unaddressed.
    if containing.isEmpty && unaddressed.isEmpty { return true }
    guard hasBlocker(near: network, where: { _ in true }) else { return true }
    let footprint = footprint()
    return !hasBlocker(near: network, where: { $0.mayOverlap(footprint) })
  }

  /// Whether a blocker that could share packets with `network` passes `test`: one filed under a
  /// network that contains it or lies inside it, or one without a network on the key side.
  private func hasBlocker(near network: AddressPrefix, where test: (Footprint) -> Bool) -> Bool {
    if unaddressed.contains(where: test) { return true }
    for length in lengths[network.address.family] ?? [] where length <= network.length {
      if containing[network.truncated(to: length)]?.contains(where: test) == true { return true }
    }
    return contained[network]?.contains(where: test) == true
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
