import IPNatDiagnostics
import IPNatSyntax
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

func readFile(_ path: String) -> String? {
  guard let file = fopen(path, "r") else { return nil }
  defer { fclose(file) }
  var bytes: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 1 << 16)
  while true {
    let count = fread(&buffer, 1, buffer.count, file)
    if count <= 0 { break }
    bytes += buffer[0..<count]
  }
  return String(decoding: bytes, as: UTF8.self)
}

func writeFile(_ path: String, _ text: String) {
  guard let file = fopen(path, "w") else { return }
  defer { fclose(file) }
  _ = Array(text.utf8).withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
}

/// The files in a directory whose names end in `suffix`, sorted.
func files(in directory: String, endingWith suffix: String) -> [String] {
  guard let handle = opendir(directory) else { return [] }
  defer { closedir(handle) }
  var names: [String] = []
  while let entry = readdir(handle) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    if name.hasSuffix(suffix) { names.append(name) }
  }
  return names.sorted()
}

#if canImport(Glibc)
  @_exported import Glibc
#endif
