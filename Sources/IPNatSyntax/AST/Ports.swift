import IPNatDiagnostics

/// A port number as written: digits or a service name.
public struct Port: Sendable, Hashable {
  public var number: UInt16
  /// The service name, when the port was written as one (`ftp`).
  public var name: String?
  public var range: SourceRange
}

/// `port`, `low-high` or `low:high`.
public struct PortRange: Sendable, Hashable {
  public var low: Port
  public var high: Port?
  public var range: SourceRange

  public var lowNumber: UInt16 { low.number }
  public var highNumber: UInt16 { high?.number ?? low.number }
}

/// The comparison in a `from … port OP N` test.
public enum PortComparison: String, Sendable, Hashable, CaseIterable {
  case equal = "="
  case notEqual = "!="
  case less = "<"
  case greater = ">"
  case lessOrEqual = "<="
  case greaterOrEqual = ">="
}

/// The operator in a `from … port A OP B` test.
public enum PortRangeOperator: String, Sendable, Hashable, CaseIterable {
  /// `A >< B`: strictly between A and B.
  case inside = "><"
  /// `A <> B`: below A or above B.
  case outside = "<>"
  /// `A:B`: from A to B inclusive.
  case inclusive = ":"
}

/// A port test on one side of `from … to …`.
public struct PortTest: Sendable, Hashable {
  public enum Kind: Sendable, Hashable {
    case compare(PortComparison, Port)
    case range(PortRangeOperator, Port, Port)
  }

  public var kind: Kind
  public var range: SourceRange
}
