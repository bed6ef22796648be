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
