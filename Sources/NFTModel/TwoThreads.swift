import Dispatch

/// Work on a large table split in two halves that share nothing, such as folding its two NAT
/// chains, or writing or encoding the two halves of a large map. The machines ipnat runs on
/// have two cores or more, and the other one is idle while a table is built.
public enum TwoThreads {
  /// `[work(0), work(1)]`, the two run at once when `together` holds, else one after the
  /// other. The fuzzing build always runs them one after the other: under AddressSanitizer two
  /// threads made the work several times slower (the linearize target, encoding large maps).
  public static func run<Result>(_ together: Bool, _ work: (Int) -> Result) -> [Result] {
    #if FUZZING
      let together = false
    #endif
    guard together else { return [work(0), work(1)] }
    // The caller's halves touch nothing in common, which is what makes this safe.
    return withoutActuallyEscaping(work) { work in
      nonisolated(unsafe) let work = work
      return [Result](unsafeUninitializedCapacity: 2) { buffer, initialized in
        nonisolated(unsafe) let results = buffer.baseAddress!
        DispatchQueue.concurrentPerform(iterations: 2) { half in (results + half).initialize(to: work(half)) }
        initialized = 2
      }
    }
  }
}
