import IPNatDiagnostics
import IPNatKit
import IPNatLowering
import NFTModel
import Testing

/// A rewrite rule hands out its new hosts and destination ports as IPFilter's odometer does:
/// each new session moves one enumerated field on, the next in turn, a range of source ports
/// counted among them though the source port is the kernel's choice. The sequences are those
/// IPFilter's own tests expect (n103, n104, n101), read from the lowered rule as the kernel
/// would run it: the n-th connection takes element n mod N of each `numgen inc mod N` map.
@Suite struct RewriteOdometerTests {
  /// `SRC,SPORT DST,DPORT` for each of the first `sessions` connections.
  static func sessions(_ rule: String, count: UInt64) throws -> [String] {
    let lowered = IPNat.lower(SourceFile(name: "t.conf", text: rule + "\n"), options: FrontendOptions(resolveHostNames: false),
                              lowering: LoweringOptions())
    let table = try #require(lowered.table)
    let statements = table.chains.flatMap(\.rules).flatMap(\.statements).compactMap { statement -> NATStatement? in
      if case .nat(let nat) = statement { nat } else { nil }
    }
    let source = try #require(statements.first { $0.kind == .snat })
    let destination = try #require(statements.first { $0.kind == .dnat })
    return try (0..<count).map { session in
      func endpoint(_ nat: NATStatement) throws -> String {
        "\(try value(nat.address, session: session)),\(try value(nat.port, session: session))"
      }
      return "\(try endpoint(source)) \(try endpoint(destination))"
    }
  }

  /// What a NAT statement's address or port is for the session: a counter's element for it.
  static func value(_ expression: Expression?, session: UInt64) throws -> String {
    switch try #require(expression) {
    case .address(let address): return "\(address)"
    case .integer(let port): return "\(port)"
    case .integerRange(let low, let high): return "\(low)-\(high)"
    case .lookup(.selector(.numgenIncrement(let modulus)), .inline(let elements)):
      return try value(counted(elements, key: session % UInt64(modulus)), session: session)
    case let other: return "\(other)"
    }
  }

  static func counted(_ elements: [MapElement], key: UInt64) throws -> Expression {
    try #require(elements.first { element in
      switch element.key {
      case .integer(let value): value == key
      case .integerRange(let low, let high): (low...high).contains(key)
      default: false
      }
    }).value
  }

  /// n104: every field enumerated.
  @Test func eachSessionMovesTheNextFieldOn() throws {
    let rule = "rewrite out on eth0 proto tcp from 0/0 to 2.2.0.0/16 -> src 4.4.0.0/24,1000-1001 dst 6.6.0.0/16,4000:4001;"
    // IPFilter's source ports: 1000, 1000, 1001, 1001, 1001, 1001.
    #expect(try Self.sessions(rule, count: 6) == [
      "4.4.0.1,1000-1001 6.6.0.1,4000", "4.4.0.2,1000-1001 6.6.0.1,4000", "4.4.0.2,1000-1001 6.6.0.1,4000",
      "4.4.0.2,1000-1001 6.6.0.2,4000", "4.4.0.2,1000-1001 6.6.0.2,4001", "4.4.0.3,1000-1001 6.6.0.2,4001",
    ])
  }

  /// n103: a fixed source address is skipped, and the two port ranges take their turns.
  @Test func aFixedFieldIsSkipped() throws {
    let rule = "rewrite out on eth0 proto tcp from 0/0 to 2.2.0.0/16 -> src 4.4.4.4/32,1000-1001 dst 6.6.0.0/16,4000:4001;"
    // IPFilter's source ports: 1000, 1001, 1001, 1001, 1000.
    #expect(try Self.sessions(rule, count: 5) == [
      "4.4.4.4,1000-1001 6.6.0.1,4000", "4.4.4.4,1000-1001 6.6.0.1,4000", "4.4.4.4,1000-1001 6.6.0.2,4000",
      "4.4.4.4,1000-1001 6.6.0.2,4001", "4.4.4.4,1000-1001 6.6.0.2,4001",
    ])
  }

  /// n101: one enumerated field moves on every session.
  @Test func oneFieldMovesEverySession() throws {
    let rule = "rewrite out on eth0 proto tcp from 0/0 to 2.2.0.0/16 -> src 4.4.4.4/32,port = 1000 dst 6.6.0.0/16,port = 4000;"
    #expect(try Self.sessions(rule, count: 3) == ["4.4.4.4,1000 6.6.0.1,4000", "4.4.4.4,1000 6.6.0.2,4000", "4.4.4.4,1000 6.6.0.3,4000"])
  }
}
