import IPNatDiagnostics

/// What reading ipnat.conf can report: the lexer (`lex.*`), variables (`var.*`) and the parser
/// (`parse.*`).
public enum ParseDiagnostics: DiagnosticCatalogue {
  /// Reported alone: a file past the rule limit is refused whole.
  public static let tooManyRules = DiagnosticKind("parse.too-many-rules", .error, "more rules than ipnat takes in one file")

  public static let kinds: [DiagnosticKind] = [
    DiagnosticKind("lex.empty-variable", .error, "a variable whose value is empty"),
    DiagnosticKind("lex.invalid-character", .error, "a character IPFilter's lexer does not accept"),
    DiagnosticKind("lex.invalid-utf8", .error, "bytes that are not UTF-8 in a word"),
    DiagnosticKind("lex.unterminated-string", .error, "a quoted string without its closing quote"),
    DiagnosticKind("lex.variable-syntax", .error, "a malformed variable reference"),
    DiagnosticKind("var.bad-predefined", .warning, "an IPNAT_PREDEFINED entry that is not name=value"),
    DiagnosticKind("var.cycle", .error, "a variable that refers to itself"),
    DiagnosticKind("var.too-deep", .error, "variables nested too deep"),
    DiagnosticKind("var.too-long", .error, "a variable that expands to too much text"),
    DiagnosticKind("var.undefined", .error, "a variable that is not defined"),
    DiagnosticKind("parse.divert-not-host", .error, "a divert rule whose encapsulation addresses are not hosts"),
    DiagnosticKind("parse.double-negation", .error, "both sides of from/to negated"),
    DiagnosticKind("parse.duplicate-option", .error, "an option given twice"),
    DiagnosticKind("parse.empty-statement", .warning, "a stray ';' (IPFilter rejects an empty statement)"),
    DiagnosticKind("parse.expected", .error, "a word the grammar does not allow here"),
    DiagnosticKind("parse.family-mismatch", .error, "addresses of two families in one rule"),
    DiagnosticKind("parse.host-name", .error, "a host name where --no-resolve forbids looking it up"),
    DiagnosticKind("parse.icmpidmap-ignores-from-to", .warning, "from/to on an icmpidmap rule, which IPFilter ignores"),
    DiagnosticKind("parse.icmpidmap-range", .error, "icmpidmap with an address range"),
    DiagnosticKind("parse.invalid-ipv4", .error, "a malformed IPv4 address"),
    DiagnosticKind("parse.invalid-mask", .error, "a netmask longer than the address"),
    DiagnosticKind("parse.invalid-negation", .error, "a negation IPFilter does not allow on this side"),
    DiagnosticKind("parse.invalid-option", .error, "an option the rule kind does not take"),
    DiagnosticKind("parse.invalid-port", .error, "a port number out of range"),
    DiagnosticKind("parse.invalid-protocol", .error, "a protocol number out of range"),
    DiagnosticKind("parse.invalid-variable-name", .error, "a variable name IPFilter does not accept"),
    DiagnosticKind("parse.keyword-variable", .error, "a keyword used as a variable name"),
    DiagnosticKind("parse.long-tag", .warning, "a tag longer than IPFilter keeps"),
    DiagnosticKind("parse.lookup-outside-from-to", .error, "a lookup table outside from/to"),
    DiagnosticKind("parse.masked-range", .error, "an address range whose ends have netmasks"),
    DiagnosticKind("parse.masked-split", .error, "a split target with netmasks"),
    DiagnosticKind("parse.number-in-inet6", .warning, "a bare number in an inet6 rule, read as an IPv6 address"),
    DiagnosticKind("parse.number-too-large", .error, "a number beyond 32 bits"),
    DiagnosticKind("parse.option-order", .error, "options in an order IPFilter's grammar refuses"),
    DiagnosticKind("parse.ports-need-tcp-udp", .error, "ports rewritten for a protocol without ports"),
    DiagnosticKind("parse.protocol-set-twice", .error, "a protocol given twice"),
    DiagnosticKind("parse.proxy-port-mismatch", .error, "a proxy port that differs from the port the rule tests"),
    DiagnosticKind("parse.rdr-target-lookup", .error, "a lookup table as an rdr target"),
    DiagnosticKind("parse.rdr-target-not-host", .error, "an rdr target that is not a single host"),
    DiagnosticKind("parse.reversed-range", .error, "a range that runs backwards"),
    DiagnosticKind("parse.too-many-errors", .error, "so many errors that reading stopped"),
    tooManyRules,
    DiagnosticKind("parse.unknown-host", .error, "a host name that does not resolve"),
    DiagnosticKind("parse.unknown-protocol", .error, "a protocol name the system does not know"),
    DiagnosticKind("parse.unknown-service", .error, "a service name the system does not know"),
    DiagnosticKind("parse.unquoted-value", .error, "a variable value that is neither a word nor a quoted string"),
    DiagnosticKind("parse.unsupported-rule", .error, "a rule kind IPFilter no longer has"),
  ]
}
