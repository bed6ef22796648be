// The AST's addresses are `IPAddressing` values; users of the AST get them with it.
@_exported import IPAddressing
