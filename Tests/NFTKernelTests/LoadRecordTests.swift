import Testing

@testable import NFTKernel
import NFTModel

/// A load record comes back from its bytes exactly, or not at all: the next load compares the
/// kernel's table with it, so a record read wrong would make a wrong update. The loader tests
/// check against the kernel that a record holds what the kernel holds.
@Suite struct LoadRecordTests {
  static let scope = LoadRecord.Scope(boot: "5c1e2f4a-0b3d-4e61-9a7c-2d8f1b6e3a90", namespace: 4_097,
                                      table: "ipnat", generation: 42)

  /// Elements with every optional part, alone and together.
  static let elements: [KernelElement] = {
    var commented = KernelElement(key: [10, 0, 0, 1], data: [192, 0, 2, 1, 0x1f, 0x90])
    commented.userdata = [0, 5] + Array("line".utf8) + [0]
    return [
      KernelElement(key: [10, 0, 0, 1]),
      KernelElement(key: [], data: []),
      commented,
      KernelElement(key: [10, 0, 0, 0], keyEnd: [10, 0, 0, 255], data: [1, 2, 3, 4]),
      KernelElement(key: [10, 0, 1, 0], isIntervalEnd: true),
      KernelElement(key: [6, 0, 0, 0], verdict: .accept),
      KernelElement(key: [17, 0, 0, 0], verdict: .jump("dstnat_forwards")),
      KernelElement(key: [1], verdict: KernelVerdict(code: -5, chain: "")),
      KernelElement(key: [2], data: [9], timeout: 30_000),
    ]
  }()

  static let definition = TableImage.SetDefinition(flags: [.map, .interval], keyType: 7, keyLength: 8, dataType: 0xffff_ff00,
                                                    dataLength: 16, userdata: [1, 2], concatenationFieldLengths: [4, 4])

  static let source = CompiledSource(path: "gateway.conf", settings: "--table ipnat", text: Array("map eth0 0/0 -> 0/32\n".utf8),
                                     singleStatementLines: [0b101], ruleTextHashes: [3, 1 << 63],
                                     foldedLines: ["fold_1": [2, 7, 3], "fold_2": []],
                                     variables: ["wan": "eth0", "lan": "$wan"], footprints: [2, 0, 3, 0x7f, 4, 9])

  static let record = LoadRecord(scope: scope, sets: ["fold_1": elements, "fold_2": [], "rule_texts": [elements[2]]],
                                 definitions: ["fold_1": definition,
                                               "fold_2": TableImage.SetDefinition(flags: [], keyType: 1, keyLength: 4, dataType: nil,
                                                                                  dataLength: 0, userdata: [], concatenationFieldLengths: [])],
                                 ruleCount: 3, source: source)

  @Test func aRecordComesBackFromItsBytes() {
    #expect(LoadRecord(decoding: Self.record.encoded()) == Self.record)
    var withoutSource = Self.record
    withoutSource.source = nil
    #expect(LoadRecord(decoding: Self.record.encoded(), keepingSource: false) == withoutSource)
    let empty = LoadRecord(scope: Self.scope, sets: [:])
    #expect(LoadRecord(decoding: empty.encoded()) == empty)
  }

  /// `load` writes its record a piece at a time; the pieces must make the record's bytes. A
  /// record larger than a piece: a long text, handed over as it stands, and many elements.
  @Test func theRecordWrittenInPiecesIsItsBytes() {
    var large = Self.record
    large.source?.text = Array(String(repeating: "rdr eth0 198.18.0.1/32 port 80 -> 10.1.0.1 port 8080 tcp\n", count: 3_000).utf8)
    large.sets["many"] = (0..<20_000).map { KernelElement(key: withUnsafeBytes(of: UInt32($0)) { Array($0) }, data: [1, 2, 3, 4]) }
    for record in [Self.record, large, LoadRecord(scope: Self.scope, sets: [:])] {
      var pieces: [[UInt8]] = []
      record.encode { pieces.append(Array($0)) }
      #expect(pieces.joined().elementsEqual(record.encoded()))
      #expect(pieces.allSatisfy { !$0.isEmpty })
      if record == large { #expect(pieces.count > 4) }
    }
  }

  @Test func aSourceTellsWhichLinesHoldOneRule() {
    #expect((0...4).map(Self.source.holdsOneRule(line:)) == [false, true, false, true, false])
    #expect(!Self.source.holdsOneRule(line: 9))
    // FNV-1a's published test vectors.
    #expect(CompiledSource.textHash("") == 0xcbf2_9ce4_8422_2325)
    #expect(CompiledSource.textHash("a") == 0xaf63_dc4c_8601_ec8c)
  }

  /// A file cut short (a full disk, a crash while writing), or with anything after the end, is
  /// no record.
  @Test func bytesCutShortOrWithMoreAfterAreNoRecord() {
    let bytes = Self.record.encoded()
    let decodedPrefixes = (0..<bytes.count).filter { LoadRecord(decoding: Array(bytes.prefix($0))) != nil }
    #expect(decodedPrefixes.isEmpty)
    #expect(LoadRecord(decoding: bytes + [0]) == nil)
  }

  /// Another version's file, and a byte changed where the format allows no other value.
  @Test func anotherFormatIsNoRecord() {
    var bytes = Self.record.encoded()
    let version = bytes.firstIndex(of: UInt8(ascii: "\n"))! - 1
    bytes[version] += 1
    #expect(LoadRecord(decoding: bytes) == nil)
    // The first element's parts: a bit no part has.
    var damaged = LoadRecord(scope: Self.scope, sets: ["s": [KernelElement(key: [1])]]).encoded()
    // After the element: the rule count and the mark of no source.
    let parts = damaged.count - 1 - 8 - 1 - 8 - 1
    #expect(damaged[parts] == 0)
    damaged[parts] = 0x80
    #expect(LoadRecord(decoding: damaged) == nil)
  }

  /// The record of a table holds its named sets, except those whose elements change without a
  /// transaction (timeouts); anonymous sets belong to rules and are always read back.
  @Test func aTablesRecordLeavesOutSetsThatChangeOnTheirOwn() {
    func set(_ name: String, _ flags: KernelSet.Flags) -> KernelSet {
      KernelSet(name: name, id: 1, flags: flags, keyType: 7, keyLength: 4, dataType: nil, dataLength: 0, size: nil,
                userdata: [], elements: [KernelElement(key: Array(name.utf8.prefix(4)))])
    }
    let table = KernelTable(family: 1, name: "ipnat", chains: [], objects: [],
                            sets: [set("fold_1", [.map]), set("mappings", [.map, .timeout]),
                                   set("__set0", [.anonymous, .constant]), set("ranges", [.interval])],
                            rules: [])
    let record = LoadRecord(of: table, in: Self.scope)
    #expect(record.sets.keys.sorted() == ["fold_1", "ranges"])
    #expect(record.sets["fold_1"] == table.sets[0].elements)
    #expect(LoadRecord.coversSet(withFlags: KernelSet.Flags([.map, .interval]).rawValue))
    #expect(!LoadRecord.coversSet(withFlags: KernelSet.Flags.timeout.rawValue))
    #expect(!LoadRecord.coversSet(withFlags: 0x20))  // NFT_SET_EVAL: rules add elements.
  }
}
