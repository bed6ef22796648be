extension Array {
  /// Hands each element to `body`, first to last, and lets it go once handed over: the array
  /// is left empty. A stage that turns one large list into another (rules into IR, IR into
  /// text or kernel messages) then holds one of the two whole, not both. If `body` throws, the
  /// elements not yet handed over are left, last first.
  @inlinable
  public mutating func drain<Failure: Error>(_ body: (consuming Element) throws(Failure) -> Void) throws(Failure) {
    reverse()
    while let element = popLast() { try body(element) }
  }
}
