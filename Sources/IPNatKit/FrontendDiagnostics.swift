import IPNatDiagnostics

/// What the front end reports about its input and output files themselves (`input.*`,
/// `output.*`), and about ipnat's own failures (`internal.*`).
public enum FrontendDiagnostics: DiagnosticCatalogue {
  public static let unreadable = DiagnosticKind("input.unreadable", .error, "an input that cannot be read")
  public static let unwritable = DiagnosticKind("output.unwritable", .error, "an output file that cannot be written")
  public static let internalError = DiagnosticKind("internal.error", .error, "a bug in ipnat: please report it")

  public static let kinds = [unreadable, unwritable, internalError]
}
