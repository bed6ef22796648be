import JSONText
import Testing

/// Strings go into nft JSON and lint's reports whole where nothing in them needs an escape,
/// and escaped as JSON requires where something does.
@Suite struct JSONValueTests {
  @Test func stringsAreEscapedExactlyWhereJSONNeedsIt() {
    let plain = JSONValue.string("ipnat.conf:5: rdr eth0 192.0.2.1/32 port 80 -> 10.0.0.5/32 port 8080 tcp é")
    #expect(plain.serialized == "\"ipnat.conf:5: rdr eth0 192.0.2.1/32 port 80 -> 10.0.0.5/32 port 8080 tcp é\"")
    let special = JSONValue.string("a\"b\\c\nd\re\tf\u{1}g é")
    #expect(special.serialized == #""a\"b\\c\nd\re\tf\u0001g é""#)
    let nested = JSONValue.object([("k\"ey", .array([.string("x"), .number(-3), .bool(true), .null]))])
    #expect(nested.serialized == #"{"k\"ey": ["x", -3, true, null]}"#)
  }
}
