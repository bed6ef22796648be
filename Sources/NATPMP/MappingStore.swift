/// Where mappings take effect: the kernel's NAT map, or a fake in tests. Each call is one
/// change, applied whole or not at all.
public protocol MappingStore: AnyObject {
  /// Installs new mappings and renews existing ones (the same key with a later expiry), so that
  /// each expires by itself at its `expiry` (in milliseconds from `now`).
  func install(_ mappings: [Mapping], now: UInt64) throws
  /// Renews mappings the store holds already, with a later expiry, without a moment in which
  /// they are absent.
  func renew(_ mappings: [Mapping], now: UInt64) throws
  /// Removes mappings; one that has already expired is not an error.
  func remove(_ mappings: [Mapping]) throws
  /// Starts over for a new external address (nil: none), with the mappings that remain.
  func rebuild(externalAddress: UInt32?, mappings: [Mapping], now: UInt64) throws
  /// Ends, at once or within a moment, the tracked connections of these mappings' external
  /// ports: those a mapping carried (in from a peer, or out from the client's port), which must
  /// not outlive it, and those a peer began before a new mapping existed, which would keep it
  /// from working.
  func dropConnections(of mappings: [Mapping], externalAddress: UInt32) throws
}
