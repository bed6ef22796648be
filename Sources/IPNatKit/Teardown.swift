/// When a run of the pipeline lets go of the ruleset it built.
public enum Teardown: Sendable {
  /// As soon as it is done with it: a library caller, a test, a daemon.
  case whenDone
  /// Never: the process exits right after its output, and the kernel takes all its pages back
  /// at once, as compilers do (clang's `-disable-free`). Freeing a large ruleset piece by
  /// piece is work nobody waits for: 10 of the 22 ms that writing out 100,000 rules took
  /// (2026-12-06), for 1.3 MiB more at the peak.
  case atExit

  /// Ends `value`'s life, or makes it last as long as the process.
  func letGo<Value>(of value: consuming Value) {
    guard self == .atExit else { return }
    _ = Unmanaged.passRetained(KeptUntilExit(value))
  }
}

/// A value no one frees: retained once and never released.
private final class KeptUntilExit<Value> {
  let value: Value
  init(_ value: consuming Value) { self.value = value }
}
