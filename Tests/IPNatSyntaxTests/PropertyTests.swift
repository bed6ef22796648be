import IPNatDiagnostics
import IPNatSyntax
import TestSupport
import Testing

@Suite struct PropertyTests {
  static let samples = files(in: samplesDirectory, endingWith: ".conf")

  /// Rules beyond the Samples that exercise every printing path.
  static let extraRules = """
    map le0 10.0.0.5/0xff -> 1.2.3.4/24 frag age 10 mssclamp 1452 tag t purge
    map le0 from 10.0.0.0/8 port 1 >< 9 to ! any port 5:6 -> range 1.2.3.4-1.2.3.9 portmap tcp/udp 1:2 sequential
    map le0 from any port 10 <> 20 to any -> 0/32 icmpidmap icmp 1:2
    map le0 0/0 -> 0/32 proxy port 1010 ftp/tcp
    map le0 inet6 1/128 -> 0/32 icmp
    bimap "-",* 1/32 -> 2/32
    map-block le0 10.0.0.0/16 -> 203.0.113.0/24 ports 252 udp
    rdr le0 1.2.3.4 -> 10.0.0.1 port 8080 tcp
    rdr le0 1.2.3.4 -> 10.0.0.1 port = 8080 tcp
    rdr le0 ! from 10.0.0.0/8 port > 5 to 1.2.3.4 port = 25 -> 10.0.0.1,10.0.0.2 port 25 tcp round-robin sticky
    rdr le0 1.2.3.4 port 21 -> range 10.0.0.1-10.0.0.3 port 21 tcp proxy ftp
    rdr le0 1.2.3.4 -> 10.0.0.1 proxy port ftp ftp/tcp
    rdr le0 1.2.3.4 port 80 -> 10.0.0.1 port 80 icmp
    rdr le0 inet6 ::1 port 80 -> ::2 port 80-90 tcp/udp age 1/2
    rewrite out on le0 proto tcp from any to any -> src 3.3.3.0/24,1000:2000 dst 4.4.0.0/16 port = 3128 purge;
    rewrite in on le0 inet6 from any to ::/64 -> src ::1 dst dstlist/x;
    divert in on le0 from any to 1.1.1.1 -> src 2.2.2.2,1 dst 3.3.3.3,2 udp;
    no rdr le0 1.2.3.4 port 80 tcp;
    no map le0 from 10.0.0.0/8 to ! 10.0.0.0/16;
    """

  static var corpus: [(name: String, text: String)] {
    samples.compactMap { name in readFile("\(samplesDirectory)/\(name)").map { (name, $0) } }
      + [("extra rules", extraRules)]
  }

  @Test func thereAreSamples() {
    #expect(Self.samples.count >= 6)
  }

  /// `print(parse(x))` parses back to a configuration that prints the same.
  @Test(arguments: corpus.map(\.name))
  func printingIsAFixedPoint(_ name: String) throws {
    let text = try #require(Self.corpus.first { $0.name == name }?.text)
    let once = printed(text)
    #expect(!once.isEmpty)
    #expect(printed(once) == once)
  }

  /// Deleting any one token of a Sample yields a file that parses to diagnostics or rules,
  /// never a crash or a hang (swift-syntax's token-flip test, for ipnat.conf).
  @Test(arguments: samples)
  func deletingAnyTokenNeverCrashes(_ name: String) throws {
    let text = try #require(readFile("\(samplesDirectory)/\(name)"))
    let bytes = Array(text.utf8)
    var lexer = Lexer(bytes: bytes)
    var ranges: [SourceRange] = []
    while case let token = lexer.next(), token.kind != .endOfFile {
      if ranges.last != token.range { ranges.append(token.range) }  // a variable's tokens share one range
    }
    #expect(ranges.count > 20)
    for range in ranges {
      let mutated = Array(bytes[..<range.start]) + Array(bytes[range.end...])
      let result = Parser.parse(SourceFile(name: name, bytes: mutated), options: ParseOptions(hostResolver: testHosts))
      // Whatever survives must still print to something that parses cleanly.
      let reprinted = CanonicalPrinter.print(result.config)
      let again = Parser.parse(SourceFile(name: name, text: reprinted), options: ParseOptions(hostResolver: testHosts))
      #expect(!again.diagnostics.hasErrors, "after deleting \(range) of \(name): \(again.diagnostics.map(\.message))")
    }
  }

  /// Random bytes and truncations: diagnostics, never a crash.
  @Test func arbitraryBytesNeverCrash() {
    var generator = SplitMix64(seed: 0x1A7)
    let alphabet = Array("map rdr bimap -> / : , ; ! = < > $ { } \" ' # \\ 0 1 9 . a z - port from to any\n\0\u{FF}".utf8)
    for _ in 0..<2000 {
      let length = Int(generator.next() % 120)
      let bytes = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
      _ = Parser.parse(SourceFile(name: "random", bytes: bytes), options: ParseOptions(hostResolver: testHosts))
    }
  }
}
