import IPNatDiagnostics
import IPNatKit
import TestSupport
import Testing

/// Every `Golden/NAME.conf` is compiled, and the result must equal the recorded files:
/// `NAME.nft` (or `NAME.json`) for the ruleset and `NAME.diag` for the diagnostics, rendered as
/// users see them. Every ruleset must also pass `nft -c` in a throwaway namespace, and its
/// JSON form `nft -j -c`. A first line `# options: …` gives compile's options.
/// `RECORD_GOLDEN=1 swift test` rewrites the recorded files.
@Suite struct GoldenLoweringTests {
  static let folder = directory() + "/Golden"
  static let cases = files(in: folder, endingWith: ".conf").map { String($0.dropLast(5)) }

  @Test func everyConstructHasACase() {
    #expect(Self.cases.count >= 19)
  }

  @Test(arguments: cases)
  func compilesAsRecorded(_ name: String) throws {
    let text = try #require(readFile("\(Self.folder)/\(name).conf"))
    let options = try CompileOptions(header: text)
    let file = SourceFile(name: "\(name).conf", text: text)
    let outcome = compile(file, options)

    let diagnostics = DiagnosticRenderer().render(outcome.diagnostics, in: file)
    let recordedDiagnostics = Golden.recorded(at: "\(Self.folder)/\(name).diag", actual: diagnostics.isEmpty ? nil : diagnostics)
    #expect((recordedDiagnostics ?? "") == diagnostics)

    let extensionName = options.format == .json ? "json" : "nft"
    let recorded = Golden.recorded(at: "\(Self.folder)/\(name).\(extensionName)", actual: outcome.output)
    #expect(recorded == outcome.output)
    guard let output = outcome.output, NFTCheck.isAvailable else { return }
    if options.format == .json {
      #expect(try NFTCheck.checkJSON(output) == nil)
      return
    }
    #expect(try NFTCheck.check(output) == nil)
    // The same ruleset as JSON, where JSON can express it.
    var json = options
    json.format = .json
    if let document = compile(file, json).output {
      #expect(try NFTCheck.checkJSON(document) == nil)
    }
  }
}

/// Compile's options as a golden case's first line gives them.
struct CompileOptions {
  var lowering = LoweringOptions()
  var format = OutputFormat.nft

  struct Unknown: Error { var word: String }

  init(header text: String) throws {
    guard text.hasPrefix("# options:") else { return }
    let line = text.prefix { $0 != "\n" }.dropFirst("# options:".count)
    var words = line.split(separator: " ").map(String.init)[...]
    while let word = words.popFirst() {
      switch word {
      case "--reflection": lowering.reflection = true
      case "--no-fold": lowering.foldThreshold = nil
      case "--fold-threshold": lowering.foldThreshold = Int(words.popFirst() ?? "")
      case "--table": lowering.tableName = words.popFirst() ?? ""
      case "--format": format = OutputFormat(rawValue: words.popFirst() ?? "") ?? .nft
      case "--interface-map":
        let pair = (words.popFirst() ?? "").split(separator: "=")
        lowering.interfaceMap[String(pair[0])] = String(pair[1])
      default: throw Unknown(word: word)
      }
    }
  }
}

func compile(_ file: SourceFile, _ options: CompileOptions) -> Outcome {
  IPNat.compile(file, options: FrontendOptions(resolveHostNames: false), lowering: options.lowering, format: options.format)
}
