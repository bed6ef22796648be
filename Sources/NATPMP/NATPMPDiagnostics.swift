import IPNatDiagnostics

/// What reading natpmpd.conf can report (`natpmpd.*`), and the daemon's own failure.
public enum NATPMPDiagnostics: DiagnosticCatalogue {
  /// The daemon cannot start or go on (an address it cannot listen on, a kernel that refuses).
  public static let daemonFailure = DiagnosticKind("natpmpd.failure", .error, "natpmpd cannot start or go on")
  public static let badAddress = DiagnosticKind("natpmpd.bad-address", .error, "a word that is not an IPv4 address")
  public static let badInterface = DiagnosticKind("natpmpd.bad-interface", .error, "not an interface name")
  public static let badNumber = DiagnosticKind("natpmpd.bad-number", .error, "a number of mappings out of range")
  public static let badSwitch = DiagnosticKind("natpmpd.bad-switch", .error, "neither 'on' nor 'off'")
  public static let badPermission = DiagnosticKind("natpmpd.bad-permission", .error, "a malformed allow or deny line")
  public static let badPortRange = DiagnosticKind("natpmpd.bad-port-range", .error, "a malformed port range")
  public static let badLifetimes = DiagnosticKind("natpmpd.bad-lifetimes", .error, "a malformed range of lifetimes")
  public static let duplicateInterface = DiagnosticKind("natpmpd.duplicate-interface", .error, "a second external interface")
  public static let duplicateListen = DiagnosticKind("natpmpd.duplicate-listen", .error, "a listen address given twice")
  public static let expectedOn = DiagnosticKind("natpmpd.expected-on", .error, "'listen' without 'on'")
  public static let expectedParty = DiagnosticKind("natpmpd.expected-party", .error, "'third' without 'party'")
  public static let expectedPerClient = DiagnosticKind("natpmpd.expected-per-client", .error, "a malformed mappings limit")
  public static let expectedPorts = DiagnosticKind("natpmpd.expected-ports", .error, "a port directive without 'ports'")
  public static let extraWords = DiagnosticKind("natpmpd.extra-words", .error, "words after a complete directive")
  public static let foreignThirdParty = DiagnosticKind("natpmpd.foreign-third-party", .error,
                                                       "a third-party network natpmpd does not listen on")
  public static let missingInterface = DiagnosticKind("natpmpd.missing-interface", .error, "no external interface")
  public static let missingListen = DiagnosticKind("natpmpd.missing-listen", .error, "no listen address")
  public static let missingValue = DiagnosticKind("natpmpd.missing-value", .error, "a directive without its value")
  public static let unknownDirective = DiagnosticKind("natpmpd.unknown-directive", .error, "an unknown directive")

  public static let kinds = [
    daemonFailure, badAddress, badInterface, badNumber, badSwitch, badPermission, badPortRange, badLifetimes, duplicateInterface,
    duplicateListen, expectedOn, expectedParty, expectedPerClient, expectedPorts, extraWords, foreignThirdParty,
    missingInterface, missingListen, missingValue, unknownDirective,
  ]
}
