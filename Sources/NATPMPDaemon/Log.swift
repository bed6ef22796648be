import Glibc

/// Where the daemon's messages go: standard error in the foreground (`-d`), syslog otherwise.
public struct Log: Sendable {
  public let foreground: Bool
  public let verbose: Bool

  public init(foreground: Bool, verbose: Bool) {
    self.foreground = foreground
    self.verbose = verbose
    if !foreground { openlog("ipnat-natpmpd", LOG_PID | LOG_NDELAY, LOG_DAEMON) }
  }

  public func info(_ message: String) { write(LOG_INFO, message) }
  public func warning(_ message: String) { write(LOG_WARNING, "warning: " + message) }
  public func error(_ message: String) { write(LOG_ERR, "error: " + message) }
  /// Only with `-v`: one line per request.
  public func debug(_ message: @autoclosure () -> String) { if verbose { write(LOG_DEBUG, message()) } }

  private func write(_ priority: Int32, _ message: String) {
    guard foreground else {
      message.withCString { text in withVaList([text]) { vsyslog(priority, "%s", $0) } }
      return
    }
    let line = "natpmpd: " + message + "\n"
    _ = line.withCString { Glibc.write(STDERR_FILENO, $0, strlen($0)) }
  }
}

/// At most `burst` lines per `interval` for one kind of message, then one line saying how many
/// were left out: a flood of bad datagrams must not flood the log. Used on the event loop only.
struct RateLimitedLog {
  let interval: UInt64
  let burst: Int
  private var windowStart: UInt64 = 0
  private var written = 0
  private var suppressed = 0

  init(intervalMilliseconds: UInt64 = 10_000, burst: Int = 5) {
    self.interval = intervalMilliseconds
    self.burst = burst
  }

  /// The lines to write now for `message` at `now` (milliseconds): none, it, or a count of
  /// those left out in the last window followed by it.
  mutating func lines(for message: String, now: UInt64) -> [String] {
    var lines: [String] = []
    if now >= windowStart + interval {
      if suppressed > 0 { lines.append("\(suppressed) more like it in the last \(interval / 1000) s") }
      (windowStart, written, suppressed) = (now, 0, 0)
    }
    guard written < burst else {
      suppressed += 1
      return lines
    }
    written += 1
    return lines + [message]
  }
}
