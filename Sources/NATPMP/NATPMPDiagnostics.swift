import IPNatDiagnostics

/// What reading natpmpd.conf can report (`natpmpd.*`).
public enum NATPMPDiagnostics: DiagnosticCatalogue {
  /// The daemon cannot start or go on (an address it cannot listen on, a kernel that refuses).
  public static let daemonFailure = DiagnosticKind("natpmpd.failure", .error, "natpmpd cannot start or go on")

  public static let kinds: [DiagnosticKind] = [
    daemonFailure,
    DiagnosticKind("natpmpd.bad-address", .error, "a word that is not an IPv4 address"),
    DiagnosticKind("natpmpd.bad-interface", .error, "a word that cannot be an interface name"),
    DiagnosticKind("natpmpd.bad-number", .error, "a number of mappings out of range"),
    DiagnosticKind("natpmpd.bad-port-range", .error, "a malformed port range"),
    DiagnosticKind("natpmpd.duplicate-interface", .error, "a second external interface"),
    DiagnosticKind("natpmpd.duplicate-listen", .error, "a listen address given twice"),
    DiagnosticKind("natpmpd.expected-on", .error, "'listen' without 'on'"),
    DiagnosticKind("natpmpd.expected-per-client", .error, "a malformed 'mappings per client'"),
    DiagnosticKind("natpmpd.expected-ports", .error, "a port directive without 'ports'"),
    DiagnosticKind("natpmpd.extra-words", .error, "words after a complete directive"),
    DiagnosticKind("natpmpd.missing-interface", .error, "no external interface"),
    DiagnosticKind("natpmpd.missing-listen", .error, "no listen address"),
    DiagnosticKind("natpmpd.missing-value", .error, "a directive without its value"),
    DiagnosticKind("natpmpd.unknown-directive", .error, "a directive natpmpd does not know"),
  ]
}
