import IPNatSyntax

extension Rule {
  /// Every host and network written in the rule, in source order, with the family the rule
  /// reads them in.
  var writtenNetworks: [Network] {
    var networks: [Network] = []
    func add(_ address: Address) {
      if case .network(let network) = address.kind { networks.append(network) }
    }
    func add(_ fromTo: FromTo) {
      add(fromTo.source.address)
      add(fromTo.destination.address)
    }
    func add(_ match: RuleMatch) {
      switch match {
      case .address(let address, _): add(address)
      case .fromTo(let fromTo): add(fromTo)
      }
    }
    switch self {
    case .map(let map):
      switch map.source {
      case .address(let address): add(address)
      case .fromTo(let fromTo): add(fromTo)
      }
      switch map.target {
      case .address(let address): add(address)
      case .range(let low, let high, _): networks += [low, high]
      }
    case .mapBlock(let block):
      add(block.source)
      add(block.target)
    case .rdr(let rdr):
      add(rdr.match)
      switch rdr.target {
      case .address(let address): add(address)
      case .split(let first, let second), .range(let first, let second, _): networks += [first, second]
      }
    case .rewrite(let rewrite):
      add(rewrite.match)
      for target in [rewrite.source, rewrite.destination] {
        switch target.addresses {
        case .address(let address): add(address)
        case .range(let low, let high, _): networks += [low, high]
        case .lookup: break
        }
      }
    case .divert(let divert):
      add(divert.match)
      add(divert.source)
      add(divert.destination)
    case .no(let exception):
      add(exception.match)
    }
    return networks
  }
}
