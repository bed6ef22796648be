import IPNatDiagnostics
import IPNatSyntax

/// Interface names from Solaris, illumos or BSD, which Linux does not have.
///
/// Lint: a configuration moved from another system keeps its interface names (`le0`, `hme0`,
/// `e1000g0`, `em0`). Linux names interfaces `eth0`, `ens3`, `enp0s3`…, so such a rule
/// matches nothing. `--interface-map le0=eth0` renames them without editing the file; names it
/// maps are not reported. Names Linux cannot have at all are `lower.interface-name` errors.
struct ForeignInterfaceName: LintCheck {
  let id: DiagnosticID = "lint.foreign-interface"
  let summary = "a Solaris or BSD interface name (le0, hme0, e1000g0, em0…) that Linux does not use"
  let severity = Severity.warning

  /// Driver names that name interfaces on Solaris, illumos and the BSDs, never on Linux.
  static let foreignDrivers: Set<String> = [
    // Solaris and illumos
    "le", "hme", "qfe", "eri", "ce", "ge", "bge", "e1000g", "igb", "ixgbe", "nge", "nxge", "rge", "dmfe", "elxl",
    "iprb", "pcn", "rtls", "vioif", "xnf", "bnx", "bnxe", "aggr", "vnic", "ipge", "afe", "mxfe", "yge", "i40e",
    // FreeBSD, NetBSD, OpenBSD
    "em", "fxp", "re", "rl", "xl", "vr", "sk", "msk", "nfe", "vtnet", "ixl", "ix", "cxgbe", "bce", "age", "alc",
    "ale", "jme", "lagg", "pflog", "pfsync", "carp", "ral", "iwn", "iwm", "ath", "wm", "ure", "axe", "cdce",
    "vether", "trunk", "ixv", "mcx", "vmx", "hvn", "xn", "lge", "txp", "ti", "sis", "ste", "tl",
  ]

  func diagnostics(in context: LintContext) -> [Diagnostic] {
    var reported: Set<String> = []
    var found: [Diagnostic] = []
    for rule in context.rules {
      for interface in rule.interfaces.all where !interface.isWildcard && context.interfaceMap[interface.name] == nil {
        guard let driver = Self.driver(of: interface.name), Self.foreignDrivers.contains(driver) else { continue }
        // Once per name: a file moved from Solaris repeats its interface on every line.
        guard reported.insert(interface.name).inserted else { continue }
        found.append(finding(
          "'\(interface.name)' looks like a Solaris or BSD interface name; on Linux this rule would match no interface",
          at: interface.range,
          notes: [Note("name the Linux interface with --interface-map \(interface.name)=eth0 (or whatever it is called here); every rule with '\(interface.name)' uses it")]))
      }
    }
    return found
  }

  /// `e1000g0` → `e1000g`: the name without its trailing unit number.
  static func driver(of name: String) -> String? {
    let unitDigits = name.reversed().prefix(while: \.isNumber).count
    guard unitDigits > 0, unitDigits < name.count else { return nil }
    return String(name.dropLast(unitDigits))
  }
}
