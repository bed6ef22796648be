/// What one fuzzing run exercises: every stage, or one, so that each can be fuzzed at its own
/// speed. `.ci/fuzz` runs each in turn; `IPNAT_FUZZ_TARGET` picks one for `ipnat-fuzz`.
public enum FuzzTarget: String, CaseIterable, Sendable {
  /// Every stage, as the regression tests replay inputs.
  case all
  /// Lexer and parser, and the canonical form reading back.
  case parse
  /// Lowering, folded and not, and the emitters.
  case lower
  /// The kernel encoding of what the lowering builds (folded, as `load` does).
  case linearize
  /// Lint and its reports, the terminal's among them.
  case lint
  /// natpmpd.conf and NAT-PMP/PCP datagrams.
  case natpmpd
  /// SSDP searches and SOAP control requests.
  case upnp
  /// `ipnat test`'s packet lines, evaluated on a fixed ruleset.
  case evaluate
  /// Load records read back, and a one-line edit compiled alone against the whole file.
  case record

  public func exercise(_ bytes: [UInt8]) {
    switch self {
    case .all:
      FuzzHarness.exercise(bytes)
      NATPMPHarness.exercise(bytes)
      UPnPHarness.exercise(bytes)
      EvaluationHarness.exercise(bytes)
      RecordHarness.exercise(bytes)
    case .parse: FuzzHarness.parse(bytes)
    case .lower: FuzzHarness.lower(bytes, linearizing: false)
    case .linearize: FuzzHarness.linearize(bytes)
    case .lint: FuzzHarness.lint(bytes)
    case .natpmpd: NATPMPHarness.exercise(bytes)
    case .upnp: UPnPHarness.exercise(bytes)
    case .evaluate: EvaluationHarness.exercise(bytes)
    case .record: RecordHarness.exercise(bytes)
    }
  }
}
