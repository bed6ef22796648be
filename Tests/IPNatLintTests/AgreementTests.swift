import IPNatDiagnostics
import IPNatKit
import TestSupport
import Testing

/// One definition of an error: `lint` reports an error exactly when `compile` refuses the
/// file, over every test input and Sample (those that need compile options of their own are
/// left out: lint takes the same options, but these tests run both with the defaults).
@Suite struct AgreementTests {
  static let repository = TestSupport.directory(of: #filePath) + "/../.."
  static let folders = ["Samples", "Tests/IPNatLintTests/Checks", "Tests/IPNatLoweringTests/Golden",
                        "Tests/IPNatLoweringTests/RealConfigurations", "Tests/IPNatSyntaxTests/Golden/Diagnostics"]
  static let inputs: [String] = folders.flatMap { folder in
    files(in: repository + "/" + folder, endingWith: ".conf").map { folder + "/" + $0 }
  }

  @Test(arguments: inputs)
  func lintErrsExactlyWhenCompileRefuses(_ path: String) throws {
    let text = try #require(readFile(Self.repository + "/" + path))
    guard !text.contains("# options:") else { return }
    let file = SourceFile(name: path, text: text)
    let options = FrontendOptions(resolveHostNames: false)
    let lintErrors = IPNat.lint(file, options: options).filter { $0.severity == .error }
    let compileErrors = IPNat.compile(file, options: options).diagnostics.filter { $0.severity == .error }
    #expect(Set(lintErrors.map(\.id)) == Set(compileErrors.map(\.id)), "\(path)")
  }

  /// A copy of a rule is left out of the table: lint says so once, and no check reports on it
  /// again (here the pool clash its first copy has).
  @Test func aCopyDrawsOnlyTheDuplicateWarning() {
    let file = SourceFile(name: "copy.conf", text: "map eth0 10.0.0.0/8 -> 0/32\nmap eth0 10.0.0.0/255.0.0.0 -> 0/32\n")
    let diagnostics = IPNat.lint(file, options: FrontendOptions(resolveHostNames: false))
    func onLine(_ line: Int) -> [String] {
      diagnostics.filter { $0.range.map { file.location(of: $0.start).line } == line }.map(\.id.rawValue)
    }
    #expect(onLine(1) == ["lint.pool-clash"])
    #expect(onLine(2) == ["lower.duplicate-rule"])
  }
}
