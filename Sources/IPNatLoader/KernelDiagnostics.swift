import IPNatDiagnostics
import IPNatNetlink

/// What talking to the kernel can report (`kernel.*`, `confirm.*`).
public enum KernelDiagnostics: DiagnosticCatalogue {
  public static let rejected = DiagnosticKind("kernel.rejected", .error, "a rule the kernel refused; nothing was changed")
  public static let failed = DiagnosticKind(
    "kernel.failed", .error, "a change the kernel refused or could not be asked for; nothing was changed")
  public static let notPermitted = DiagnosticKind("kernel.not-permitted", .error, "a change that needs CAP_NET_ADMIN")
  public static let confirmWindow = DiagnosticKind(
    "confirm.window", .error, "a load --confirm that cannot wait for confirmation")
  public static let nothingToConfirm = DiagnosticKind(
    "confirm.nothing-waiting", .error, "'ipnat confirm' with no load waiting")

  public static let kinds = [rejected, failed, notPermitted, confirmWindow, nothingToConfirm]
}

extension NetlinkError {
  /// The failure as a diagnostic that belongs to no rule.
  public var diagnostic: Diagnostic {
    Diagnostic(self == .notPermitted ? KernelDiagnostics.notPermitted : KernelDiagnostics.failed, "\(self)", at: nil)
  }
}
