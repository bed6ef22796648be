import Glibc
import NFTModel

/// Why a kernel operation failed, worded for an administrator.
public enum NetlinkError: Error, Equatable, CustomStringConvertible {
  /// A system call failed.
  case system(String, Int32)
  /// The kernel answered an errno; `context` names what it refused.
  case kernel(Int32, context: String?)
  /// The kernel refused rules or objects of the batch; nothing was applied.
  case rejected([Rejection])
  /// Another process changed the ruleset after ipnat read it; nothing was applied.
  case concurrentChange
  case notPermitted
  /// The batch does not fit in the socket's send buffer; the kernel never saw it.
  case batchTooLarge(bytes: Int, sendBuffer: Int)
  /// The kernel refused the batch with more error replies than the receive buffer held.
  case refusedRepliesLost

  public struct Rejection: Equatable, Sendable {
    public init(errorNumber: Int32, origin: Origin?, subject: String) {
      self.errorNumber = errorNumber
      self.origin = origin
      self.subject = subject
    }

    public var errorNumber: Int32
    /// The ipnat.conf rule whose nftables rule the kernel refused, when it was a rule.
    public var origin: Origin?
    public var subject: String
  }

  public var description: String {
    switch self {
    case .system(let action, let code):
      return "cannot \(action): \(Self.message(code))"
    case .kernel(let code, let context):
      return (context.map { "\($0): " } ?? "") + Self.message(code)
    case .rejected(let rejections):
      let details = rejections.prefix(10).map { rejection in
        let place = rejection.origin.map { "\($0.file):\($0.line): " } ?? ""
        return "\(place)the kernel refused \(rejection.subject): \(Self.message(rejection.errorNumber))"
      }
      let more = rejections.count > 10 ? ["… and \(rejections.count - 10) more"] : []
      return (details + more).joined(separator: "\n") + "\nnothing was changed"
    case .concurrentChange:
      return "another program changed the ruleset while ipnat was loading; nothing was changed (run the command again)"
    case .notPermitted:
      return "changing the ruleset needs CAP_NET_ADMIN (run as root, or grant the capability); nothing was changed"
    case .batchTooLarge(let bytes, let sendBuffer):
      return "the ruleset is a batch of \(bytes) bytes, more than this socket may send at once (\(sendBuffer) bytes); "
        + "nothing was changed (run with CAP_NET_ADMIN in the initial network namespace, or raise net.core.wmem_max)"
    case .refusedRepliesLost:
      return "the kernel refused the batch with more errors than the receive buffer could hold, so they cannot be shown; "
        + "nothing was changed (with CAP_NET_ADMIN in the initial network namespace the buffer grows to hold them all)"
    }
  }

  public static func message(_ code: Int32) -> String { String(cString: strerror(code)) }
}
