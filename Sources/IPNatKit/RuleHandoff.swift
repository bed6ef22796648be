import Dispatch
import Glibc
import IPNatSyntax
import NFTModel
import Synchronization

/// Parses a file on a second thread and hands its rules over in file order, so that the
/// caller lowers while the parser reads on: each takes about half of a compile.
///
/// Rules cross in batches through a queue of a few batches: memory stays bounded by the queue,
/// not the file. Lowering stays on the caller's thread, and so does most of what it allocates:
/// glibc gives each thread an arena of its own, and memory freed in one arena is not reused by
/// a thread allocating from another. (Folding and the script take the second core only once
/// the parser is done: `TwoThreads`.)
final class RuleHandoff: @unchecked Sendable {
  /// Rules per batch: enough that waking the other thread is rare, few enough to stay in cache.
  private static let batchSize = 256
  /// Batches queued at most; the parser waits when the lowering falls this far behind.
  private static let queueCapacity = 2

  private enum Item {
    case rules(Batch)
    case end(ParseResult)
  }

  /// Rules, and the canonical forms the parser printed for some of them
  /// (``printsCanonicalForms``), as bytes. The lowering makes each a `String`, so that the
  /// strings, which live until the table is made, come from the lowering thread's malloc arena:
  /// made on the parser's, they pinned its pages among the syntax trees freed around them, and
  /// 1,000,000 rules took 50 MB more.
  private struct Batch {
    var rules: [(rule: IPNatSyntax.Rule, canonicalForm: Range<Int>?)] = []
    var printed: [UInt8] = []
  }

  private var batch = Batch()
  /// Whether the parser prints the rules of the batch it is filling, sparing the lowering that
  /// work: it does while the lowering has a batch waiting, which means the lowering is the
  /// slower, and the parser would otherwise soon wait for it. The two thus share the work
  /// whichever is faster on the machine and the file.
  private var printsCanonicalForms = false
  private let queue = Mutex<[Item]>([])
  private let filled = DispatchSemaphore(value: 0)
  private let free = DispatchSemaphore(value: RuleHandoff.queueCapacity)

  private var parser: pthread_t?
  private var queueIsBounded = true

  /// Starts `parse` on a thread of its own; it must hand each rule to the function it is given.
  /// A thread of its own, not a shared pool's, because the caller waits for it: a pool whose
  /// threads are all busy waiting would never run it. Without `threaded`, `parse` runs at once,
  /// on this thread, and every rule waits in the queue.
  init(threaded: Bool = true, parsingWith parse: @escaping @Sendable (_ takeRule: (IPNatSyntax.Rule) -> Void) -> ParseResult) {
    batch.rules.reserveCapacity(Self.batchSize)
    let work = Unmanaged.passRetained(Work {
      let result = parse { self.add($0) }
      self.send()
      self.enqueue(.end(result))
    })
    var thread = pthread_t()
    if threaded, pthread_create(&thread, nil, { Unmanaged<Work>.fromOpaque($0!).takeRetainedValue().run(); return nil },
                                work.toOpaque()) == 0 {
      parser = thread
    } else {
      // No thread wanted, or none to be had: parse on this one, every batch queued before
      // lowering starts.
      queueIsBounded = false
      work.takeRetainedValue().run()
    }
  }

  /// Hands `takeRule` every rule, in file order, as batches arrive, and returns what parsing
  /// gave once the last rule is handed over.
  func receive(_ takeRule: (consuming IPNatSyntax.Rule, _ canonicalForm: String?) -> Void) -> ParseResult {
    while true {
      filled.wait()
      let item = queue.withLock { $0.removeFirst() }
      free.signal()
      switch item {
      case .rules(var batch):
        let printed = batch.printed
        batch.rules.drain { takeRule($0.rule, $0.canonicalForm.map { String(decoding: printed[$0], as: UTF8.self) }) }
      case .end(let result):
        if let parser { pthread_join(parser, nil) }
        return result
      }
    }
  }

  private func add(_ rule: IPNatSyntax.Rule) {
    var canonicalForm: Range<Int>?
    if printsCanonicalForms {
      let start = batch.printed.count
      CanonicalPrinter.write(rule, to: &batch.printed)
      canonicalForm = start..<batch.printed.count
    }
    batch.rules.append((rule, canonicalForm))
    if batch.rules.count == Self.batchSize { send() }
  }

  private func send() {
    guard !batch.rules.isEmpty else { return }
    printsCanonicalForms = queue.withLock { !$0.isEmpty }
    var next = Batch()
    next.rules.reserveCapacity(Self.batchSize)
    swap(&next, &batch)
    enqueue(.rules(next))
  }

  private func enqueue(_ item: consuming Item) {
    if queueIsBounded { free.wait() }
    queue.withLock { [item = consume item] in $0.append(item) }
    filled.signal()
  }
}

/// What a thread runs, boxed to cross `pthread_create`'s untyped argument.
private final class Work {
  let run: () -> Void
  init(_ run: @escaping () -> Void) { self.run = run }
}
