/// The four port numbers IPFilter keeps for an rdr rule, computed exactly as its grammar
/// actions do (`tools/ipnat_y.y`: `dport`, `nport`, `rdrproxy`, `setnatproto`).
///
/// They are what the rule *means*, quirks included: a rule with a new port but no matched
/// port keeps `matchLow` 0 and `matchHigh` = the new port, so destination port d becomes
/// d + P (printed `port 0-P -> … port P`), and only `port = P` is a plain fixed port.
public struct RdrPorts: Sendable, Hashable {
  /// `in_odport`: the low end of the matched destination ports.
  public var matchLow: UInt16 = 0
  /// `in_dtop`: the high end of the matched destination ports.
  public var matchHigh: UInt16 = 0
  /// `in_dpmin`: the new port (or the low end of the new range).
  public var targetLow: UInt16 = 0
  /// `in_dpmax`: the high end of the new range (0 for `port = P`).
  public var targetHigh: UInt16 = 0
  /// `port = P`: always P, no shifting.
  public var isFixed = false
}

extension RdrRule {
  public var ports: RdrPorts {
    var ports = RdrPorts()
    var testsDestinationPort = false
    switch match {
    case .address(_, let range):
      if let range {
        ports.matchLow = range.lowNumber
        ports.matchHigh = range.highNumber == 0 ? range.lowNumber : range.highNumber
      }
    case .fromTo(let fromTo):
      if let test = fromTo.destination.port {
        testsDestinationPort = true
        switch test.kind {
        case .compare(_, let port): ports.matchLow = port.number
        case .range(_, let low, let high): (ports.matchLow, ports.matchHigh) = (low.number, high.number)
        }
      }
    }
    switch targetPort {
    case .range(let range):
      (ports.targetLow, ports.targetHigh) = (range.lowNumber, range.highNumber)
      if ports.matchHigh == 0 { ports.matchHigh = range.highNumber }
    case .fixed(let port):
      ports.targetLow = port.number
      ports.isFixed = true
      if ports.matchHigh == 0 { ports.matchHigh = ports.matchLow }
    case nil:
      break
    }
    switch proxy {
    case .label:
      // `proxy NAME` redirects the new port: the matched port becomes the new port.
      ports.matchLow = ports.targetLow
      ports.matchHigh = ports.matchLow
    case .clause(let clause):
      if !testsDestinationPort { ports.matchLow = clause.port.number }
      ports.targetLow = ports.matchLow
      ports.targetHigh = ports.matchLow
      ports.matchHigh = ports.matchLow
    case nil:
      break
    }
    return ruleProtocol.carriesPorts ? ports : RdrPorts()
  }
}

extension RdrRule {
  /// The destination ports `ADDRESS port LOW[-HIGH]` matches, or `nil` for any port (port 0,
  /// or no port, which is what a rule with a new port but no matched port stores). Ports of a
  /// from/to rule are port tests of their own.
  public var matchedPortRange: (low: UInt16, high: UInt16)? {
    guard case .address = match else { return nil }
    let ports = self.ports
    return ports.matchLow == 0 ? nil : (ports.matchLow, max(ports.matchLow, ports.matchHigh))
  }
}
