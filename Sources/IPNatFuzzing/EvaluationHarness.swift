import IPNatDiagnostics
import IPNatEvaluation
import IPNatKit
import NFTModel

/// `ipnat test`'s reader of untrusted text: packet lines, each evaluated on a ruleset with
/// every kind of rule the evaluator follows (maps, pools, ranges, round-robin, map-block,
/// bimap, `no` rules), folded. Every answer has an outcome or a note saying why not, an
/// untranslated outcome is the packet itself, and the text and JSON forms render.
public enum EvaluationHarness {
  static let table: Table = {
    let conf = """
      map eth0 10.0.0.2/32 -> 203.0.113.7/32
      map eth0 10.0.0.0/24 -> 203.0.113.16/30 portmap tcp/udp 20000:20099
      map eth0 10.0.0.0/24 -> 0/32
      no map eth0 10.0.1.0/24;
      map-block eth0 10.0.2.0/24 -> 203.0.113.0/30 ports auto
      bimap eth0 10.0.3.5/32 -> 203.0.113.50/32
      rdr eth0 192.0.2.1/32 port 8000-8009 -> 10.0.0.2 port 9000 udp
      rdr eth0 0/0 port 53 -> 10.0.0.3,10.0.0.5 port 5353 tcp/udp round-robin
      rdr eth0 from 198.51.100.0/24 to 0/0 port = 22 -> 10.0.0.6 port 22 tcp
      """
    var lowering = LoweringOptions()
    lowering.foldThreshold = 2
    return IPNat.lower(SourceFile(name: "fuzz.conf", text: conf), options: FrontendOptions(resolveHostNames: false),
                       lowering: lowering).table!
  }()

  public static func exercise(_ bytes: [UInt8]) {
    let file = SourceFile(name: "fuzz.packets", bytes: bytes)
    let read = PacketLineReader.read(file)
    _ = DiagnosticRenderer(useColor: false).render(read.diagnostics, in: file)
    let answers = PacketTest.run(read.lines, table: table, options: Evaluator.Options())
    for answer in answers {
      precondition(!answer.evaluation.outcomes.isEmpty || !answer.evaluation.notes.isEmpty,
                   "a packet with neither an outcome nor a note saying why")
      precondition(answer.evaluation.outcomes.allSatisfy { $0.isTranslated || $0.source.address == .exactly(answer.line.packet.source.address) },
                   "an untranslated outcome with another source")
    }
    _ = PacketTest.text(answers, packetsFile: file.name)
    _ = PacketTest.json(answers, packetsFile: file.name)
  }
}
