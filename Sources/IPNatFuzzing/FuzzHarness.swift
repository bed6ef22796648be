import IPAddressing
import IPNatDiagnostics
import IPNatKit
import IPNatLint
import IPNatSyntax
import NFTKernel
import NFTText

/// One input through every stage a configuration file reaches: parse, print, lower (folded and
/// not), emit nft and JSON, linearize for the kernel, lint and render every report format.
/// The fuzzer calls it with arbitrary bytes; the regression tests call it with the inputs the
/// fuzzer once crashed on. A crash or a broken invariant traps; anything else returns.
/// Each stage is also a target of its own (`FuzzTarget`), so that a campaign spends its time
/// where it asks.
public enum FuzzHarness {
  public static func exercise(_ bytes: [UInt8]) {
    parse(bytes)
    lower(bytes, linearizing: true)
    lint(bytes)
  }

  static let frontend: FrontendOptions = {
    var options = FrontendOptions(definitions: [("wan", "eth9")])
    options.hostResolver = HashingHostResolver()
    return options
  }()

  /// Lexing and parsing, and the canonical form reading back as itself. The diagnostics are
  /// rendered by the lint target, with the other reports: rendering a hostile file's fifty
  /// diagnostics, each under an excerpt of its line, took most of this target's time.
  public static func parse(_ bytes: [UInt8]) {
    let file = SourceFile(name: "fuzz.conf", bytes: bytes)
    let canonical = IPNat.printCanonical(file, options: frontend)
    if let printed = canonical.output { checkReprint(printed, options: frontend) }
  }

  /// Lowering, folded and not, and both emitters; with `linearizing`, the kernel encoding too.
  public static func lower(_ bytes: [UInt8], linearizing: Bool) {
    let file = SourceFile(name: "fuzz.conf", bytes: bytes)
    var lowered: [Bool] = []
    for threshold in [nil, 2] {
      var lowering = LoweringOptions()
      lowering.foldThreshold = threshold
      let (table, diagnostics) = IPNat.lower(file, options: frontend, lowering: lowering)
      render(diagnostics, in: file)
      lowered.append(table != nil)
      guard let table else { continue }
      _ = ScriptEmitter.script(replacing: table)
      guard linearizing else { continue }
      // The lowering builds only what the linearizer encodes: `ipnat load` reports a failure
      // here as an internal error.
      do {
        _ = try Linearizer.linearize(table)
      } catch {
        fatalError("the linearizer refused a lowered table: \(error)")
      }
    }
    // Folding never decides whether a file compiles.
    precondition(lowered[0] == lowered[1], "folding changed whether the file compiles")
    _ = IPNat.compile(file, options: frontend, format: .json).output
  }

  /// The kernel encoding alone, of the table `load` would build (folded), so that a campaign on
  /// it spends its time there.
  public static func linearize(_ bytes: [UInt8]) {
    guard let table = IPNat.lower(SourceFile(name: "fuzz.conf", bytes: bytes), options: frontend).table else { return }
    do {
      _ = try Linearizer.linearize(table)
    } catch {
      fatalError("the linearizer refused a lowered table: \(error)")
    }
  }

  /// Lint, and every report of its diagnostics, which hold the parser's: the terminal's, JSON,
  /// SARIF and GitHub's.
  public static func lint(_ bytes: [UInt8]) {
    let file = SourceFile(name: "fuzz.conf", bytes: bytes)
    let diagnostics = IPNat.lint(file, options: frontend)
    render(diagnostics, in: file)
    let report = LintReport([LintReport.Entry(file: file, diagnostics: diagnostics)])
    _ = JSONReport.render(report)
    _ = SARIFReport.render(report, toolVersion: "fuzz")
    _ = GitHubReport.render(report)
  }

  /// IPFilter's canonical form must read back as itself: `ipnat print` output is a valid
  /// configuration with the same meaning.
  private static func checkReprint(_ printed: String, options: FrontendOptions) {
    let again = IPNat.printCanonical(SourceFile(name: "reprint.conf", bytes: Array(printed.utf8)), options: options)
    guard let reprinted = again.output, reprinted == printed else {
      fatalError("canonical form does not read back as itself:\n\(printed)\n---\n\(again.output ?? again.diagnostics.map(\.message).joined(separator: "\n"))")
    }
  }

  private static func render(_ diagnostics: [Diagnostic], in file: SourceFile) {
    _ = DiagnosticRenderer(useColor: true).render(diagnostics, in: file)
  }
}

/// Resolves every name, without DNS, to an address derived from the name: the fuzzer reaches
/// the rules that name hosts, and its runs stay deterministic and offline.
struct HashingHostResolver: HostResolver {
  func resolve(_ name: String, family: IPFamily?) -> HostResolution {
    var hash: UInt32 = 2_166_136_261
    for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
    switch family ?? .inet {
    case .inet: return .resolved(.ipv4(0xC000_0200 | (hash & 0xFF)))
    case .inet6: return .resolved(.ipv6(UInt128(0x2001_0db8) << 96 | UInt128(hash)))
    }
  }
}
