import IPAddressing
import IPNatDiagnostics
import IPNatEvaluation
import IPNatKit
import NFTModel
import TestSupport
import Testing

/// `ipnat test`'s evaluator on the lowered rulesets of the Samples, folded and not, against
/// packet lines and their recorded answers.
@Suite struct EvaluatorTests {
  static let root = directory() + "/../.."
  static let golden = directory() + "/Golden"

  static func table(_ sample: String, fold: Bool = true) throws -> Table {
    let file = try #require(readBytes("\(root)/Samples/\(sample)")).map { SourceFile(name: "Samples/\(sample)", bytes: $0) }!
    var options = LoweringOptions()
    if !fold { options.foldThreshold = nil }
    let (table, diagnostics) = IPNat.lower(file, options: FrontendOptions(resolveHostNames: false), lowering: options)
    #expect(!diagnostics.hasErrors)
    return try #require(table)
  }

  static func answers(_ packets: String, sample: String, fold: Bool = true, addresses: [String: IPAddress] = [:])
    throws -> (answers: [PacketTest.Answer], lines: PacketLineReader.Result, file: SourceFile)
  {
    let file = SourceFile(name: packets.split(separator: "/").last.map(String.init) ?? packets,
                          bytes: try #require(readBytes(packets)))
    let read = PacketLineReader.read(file)
    var options = Evaluator.Options()
    options.interfaceAddresses = addresses
    return (PacketTest.run(read.lines, table: try table(sample, fold: fold), options: options), read, file)
  }

  /// The Sample expectations file holds, folded and not.
  @Test(arguments: [true, false])
  func theSampleExpectationsHold(fold: Bool) throws {
    let (answers, read, _) = try Self.answers("\(Self.root)/Samples/ci/home-gateway.packets", sample: "home-gateway.conf",
                                              fold: fold, addresses: ["ppp0": .ipv4(0xCB00_7105)])
    #expect(read.diagnostics.isEmpty && answers.count == 9)
    let unmet = answers.compactMap(\.unmet).map(\.message)
    #expect(unmet.isEmpty, "\(unmet)")
  }

  /// Text and JSON answers, recorded; round-robin gives every server, a range shifts a port,
  /// a wrong expectation is a diagnostic at its line.
  @Test func webFarmAnswersAsRecorded() throws {
    let (answers, _, file) = try Self.answers("\(Self.golden)/web-farm.packets", sample: "web-farm-round-robin.conf")
    let text = PacketTest.text(answers, packetsFile: file.name)
    #expect(Golden.recorded(at: "\(Self.golden)/web-farm.txt", actual: text) == text)
    let json = PacketTest.json(answers, packetsFile: file.name)
    #expect(Golden.recorded(at: "\(Self.golden)/web-farm.json", actual: json) == json)
    let servers = Set(answers[0].evaluation.outcomes.map(\.destination.description))
    #expect(servers == ["10.0.1.11,80", "10.0.1.12,80", "10.0.1.13,80"])
    let diagnostics = DiagnosticRenderer(useColor: false).render(answers.compactMap(\.unmet), in: file)
    #expect(Golden.recorded(at: "\(Self.golden)/web-farm.diag", actual: diagnostics) == diagnostics)
  }

  @Test func malformedLinesAreReportedAtTheirPlace() throws {
    let file = SourceFile(name: "bad-lines.packets", bytes: try #require(readBytes("\(Self.golden)/bad-lines.packets")))
    let read = PacketLineReader.read(file)
    #expect(read.lines.count == 1)
    let rendered = DiagnosticRenderer(useColor: false).render(read.diagnostics, in: file)
    #expect(Golden.recorded(at: "\(Self.golden)/bad-lines.diag", actual: rendered) == rendered)
  }
}
