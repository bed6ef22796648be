import IPNatDiagnostics
import IPNatEvaluation
import IPNatKit
import IPNatLint
import IPNatLoader
import IPNatSemantics
import IPNatSyntax
import NATPMP
import TestSupport
import Testing

/// Every diagnostic id the code can report is declared in its stage's catalogue, with the
/// severity it is reported with; nothing in a catalogue is left unused.
struct DiagnosticCatalogueTests {
  static let repository = directory() + "/../.."
  /// The kinds each stage's catalogue declares.
  static let catalogues: [[DiagnosticKind]] = [
    ParseDiagnostics.kinds, LoweringDiagnostics.kinds, NATPMPDiagnostics.kinds, KernelDiagnostics.kinds, LintRegistry.kinds,
    FrontendDiagnostics.kinds, TestDiagnostics.kinds,
  ]
  static let catalogued: [DiagnosticID: Severity] = {
    var kinds: [DiagnosticID: Severity] = [:]
    for kind in catalogues.joined() { kinds[kind.id] = kind.severity }
    return kinds
  }()

  /// The id-shaped string literals of the Swift files under `folder`, by file.
  static func idLiterals(under folder: String) -> [(file: String, id: String)] {
    var found: [(String, String)] = []
    for path in swiftFiles(under: Self.repository + "/" + folder) {
      guard let text = readFile(path) else { continue }
      for id in literals(in: text) { found.append((path, id)) }
    }
    return found
  }

  static func literals(in text: String) -> [String] {
    let stages = ["lex", "var", "parse", "lower", "natpmpd", "kernel", "lint", "input", "output", "internal", "confirm", "test"]
    return text.split(separator: "\"", omittingEmptySubsequences: false).enumerated().compactMap { index, part in
      guard index % 2 == 1, let dot = part.firstIndex(of: "."), stages.contains(String(part[..<dot])),
        part[part.index(after: dot)...].allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" }),
        part.last != ".", !part.hasSuffix(".conf")
      else { return nil }
      return String(part)
    }
  }

  @Test func everyIdTheCodeReportsIsCatalogued() {
    let uncatalogued = Self.idLiterals(under: "Sources").filter { Self.catalogued[DiagnosticID(rawValue: $0.id)] == nil }
    #expect(uncatalogued.isEmpty, "declare these in their stage's catalogue: \(uncatalogued)")
  }

  @Test func everyCataloguedIdIsReported() {
    let literals = Self.idLiterals(under: "Sources")
    let used = Set(literals.filter { !$0.file.hasSuffix("Diagnostics.swift") && !$0.file.hasSuffix("Registry.swift") }
      .map(\.id)).union(Self.usedConstants())
    let catalogueOnly = Self.catalogues.joined().map(\.id.rawValue).filter { !used.contains($0) }
    #expect(catalogueOnly.isEmpty, "no code reports these: \(catalogueOnly)")
  }

  /// The recorded diagnostics (`*.diag`) use catalogued ids with their catalogued severity.
  @Test func goldenDiagnosticsMatchTheCatalogues() {
    var checked = 0
    for path in Self.files(under: Self.repository + "/Tests", endingWith: ".diag") {
      for line in (readFile(path) ?? "").split(separator: "\n") {
        guard line.hasSuffix("]"), let open = line.lastIndex(of: "[") else { continue }
        let id = DiagnosticID(rawValue: String(line[line.index(after: open)..<line.index(before: line.endIndex)]))
        let severity = Severity.allCases.first { line.contains(": \($0.rawValue): ") }
        #expect(Self.catalogued[id] != nil, "\(path): \(id) is not catalogued")
        if let severity, let declared = Self.catalogued[id] { #expect(severity == declared, "\(path): \(line)") }
        checked += 1
      }
    }
    #expect(checked > 50)
  }

  /// Ids a catalogue declares as a named kind (`static let name = DiagnosticKind("…", …)`) that
  /// code elsewhere refers to by that name.
  static func usedConstants() -> Set<String> {
    let texts = swiftFiles(under: repository + "/Sources").compactMap(readFile)
    var used: Set<String> = []
    for text in texts {
      for declaration in text.split(separator: "static let ").dropFirst() {
        let name = declaration.prefix { $0.isLetter || $0.isNumber }
        guard declaration.dropFirst(name.count).hasPrefix(" = DiagnosticKind("),
          let id = literals(in: String(declaration.prefix(200))).first
        else { continue }
        let references = texts.reduce(0) { $0 + $1.split(separator: ".\(name)", omittingEmptySubsequences: false).count - 1 }
        if references > 0 { used.insert(id) }
      }
    }
    return used
  }

  static func swiftFiles(under folder: String) -> [String] { files(under: folder, endingWith: ".swift") }

  /// Files under `folder`, recursively, whose names end in `suffix`.
  static func files(under folder: String, endingWith suffix: String) -> [String] {
    var found = TestSupport.files(in: folder, endingWith: suffix).map { folder + "/" + $0 }
    for entry in TestSupport.files(in: folder, endingWith: "") where !entry.hasPrefix(".") && !entry.contains(".") {
      found += files(under: folder + "/" + entry, endingWith: suffix)
    }
    return found
  }
}
