import IPNatDiagnostics
import IPNatSyntax
@_exported import TestSupport
import Testing

/// A resolver with a fixed table, so tests never depend on DNS.
let testHosts = TableHostResolver([
  "gateway.example": .ipv4(0xC633_6401),  // 198.51.100.1
  "v6.example": .ipv6(0x2001_0db8_0000_0000_0000_0000_0000_0001),
])

func parse(_ text: String, options: ParseOptions = ParseOptions(hostResolver: testHosts)) -> ParseResult {
  Parser.parse(SourceFile(name: "test.conf", text: text), options: options)
}

/// The canonical text of a file that must parse without errors (warnings allowed).
func printed(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> String {
  let result = parse(text)
  let errors = result.diagnostics.filter { $0.severity == .error }
  #expect(errors.isEmpty, "unexpected errors: \(errors.map(\.message))", sourceLocation: sourceLocation)
  return CanonicalPrinter.print(result.config).split(separator: "\n").joined(separator: "\n")
}

/// The ids of the errors (and warnings) a file produces, in source order.
func diagnosticIDs(_ text: String, severity: Severity = .error) -> [String] {
  parse(text).diagnostics.filter { $0.severity == severity }.map(\.id.rawValue)
}

/// The folder of this test target, for golden files and the project's Samples.
let testsDirectory: String = {
  let path = #filePath
  return String(path[..<path.lastIndex(of: "/")!])
}()

let samplesDirectory = testsDirectory + "/../../Samples"

#if canImport(Glibc)
  @_exported import Glibc
#endif
