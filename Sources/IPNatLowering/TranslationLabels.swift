import NFTModel

extension Table {
  /// Labels every connection a rule of the table translates (`ct label set 127` just before
  /// the NAT statement): what `ipnat -F` deletes. NAT chains see only a connection's first
  /// packet, so the label costs nothing on the rest.
  mutating func labelTranslations() {
    for chain in chains.indices {
      for rule in chains[chain].rules.indices {
        let statements = chains[chain].rules[rule].statements
        guard let nat = statements.firstIndex(where: { if case .nat = $0 { true } else { false } }) else { continue }
        chains[chain].rules[rule].statements.insert(.setConntrackLabel(TranslationLabel.bit), at: nat)
      }
    }
  }
}
