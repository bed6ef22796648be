#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Where a `load --confirm` waits for `ipnat confirm`, and which of the two decides.
public protocol ConfirmationWindow {
  /// Opens the window before the new rules are loaded; fails if another load is waiting.
  func open() throws
  /// Waits until confirmed (true), or until the deadline or an interruption (false).
  func wait(seconds: Int) -> Bool
  /// Closes the window without a decision: the load failed, so there is nothing to confirm.
  func withdraw()
}

/// The wait after `ipnat load --confirm`: a marker file says a load awaits confirmation;
/// `ipnat confirm` removes it. Whoever removes the marker first decides: `confirm`, and the
/// new rules stay; the waiting load (at its deadline, or on SIGINT or SIGTERM), and the
/// previous rules come back. Markers are per table and per network namespace.
public struct ConfirmWindow: ConfirmationWindow {
  public let marker: String

  /// `directory`: where the markers live (`/run/ipnat`; tests give their own).
  public init(table: String, directory: String = "/run/ipnat") {
    var status = stat()
    let namespace = stat("/proc/self/ns/net", &status) == 0 ? String(status.st_ino) : "default"
    marker = "\(directory)/\(table).\(namespace).pending"
  }

  public enum Failure: Error, CustomStringConvertible {
    case cannotCreate(String, Int32)
    case alreadyWaiting(String)

    public var description: String {
      switch self {
      case .cannotCreate(let path, let code): "cannot create \(path): \(String(cString: strerror(code)))"
      case .alreadyWaiting(let path): "another load is already waiting for confirmation (\(path))"
      }
    }
  }

  /// Creates the marker before the new rules are loaded.
  public func open() throws(Failure) {
    let directory = String(marker[..<marker.lastIndex(of: "/")!])
    if mkdir(directory, 0o700) != 0 && errno != EEXIST { throw .cannotCreate(directory, errno) }
    let descriptor = Glibc.open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else {
      throw errno == EEXIST ? .alreadyWaiting(marker) : .cannotCreate(marker, errno)
    }
    let text = "\(getpid())\n"
    _ = text.withCString { write(descriptor, $0, strlen($0)) }
    close(descriptor)
  }

  /// Waits until `ipnat confirm` removes the marker (true), or until the deadline or a
  /// SIGINT/SIGTERM (false). A hang-up does not end the wait: a dropped SSH session is exactly
  /// the case it exists for.
  public func wait(seconds: Int) -> Bool {
    signal(SIGHUP, SIG_IGN)
    signal(SIGPIPE, SIG_IGN)
    var interrupting = sigset_t()
    sigemptyset(&interrupting)
    sigaddset(&interrupting, SIGINT)
    sigaddset(&interrupting, SIGTERM)
    sigprocmask(SIG_BLOCK, &interrupting, nil)
    var deadline = timespec()
    clock_gettime(CLOCK_MONOTONIC, &deadline)
    deadline.tv_sec += seconds
    while access(marker, F_OK) == 0 {
      var now = timespec()
      clock_gettime(CLOCK_MONOTONIC, &now)
      if now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec) { break }
      var pause = timespec(tv_sec: 0, tv_nsec: 100_000_000)
      if sigtimedwait(&interrupting, nil, &pause) > 0 { break }
    }
    // Removing the marker claims the decision; if `confirm` removed it first, it stands.
    return unlink(marker) != 0 && errno == ENOENT
  }

  /// `ipnat confirm`: true if a load was waiting and is now confirmed.
  public func confirm() -> Bool { unlink(marker) == 0 }

  public func withdraw() { _ = confirm() }
}
