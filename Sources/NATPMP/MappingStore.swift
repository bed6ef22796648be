/// Where mappings take effect: the kernel's NAT map, or a fake in tests. Each call is one
/// change, applied whole or not at all.
public protocol MappingStore: AnyObject {
  /// Installs new mappings and renews existing ones (the same key with a later expiry), so that
  /// each expires by itself at its `expiry` (in milliseconds from `now`).
  func install(_ mappings: [Mapping], now: UInt64) throws
  /// Removes mappings; one that has already expired is not an error.
  func remove(_ mappings: [Mapping]) throws
  /// Starts over for a new external address (nil: none), with the mappings that remain.
  func rebuild(externalAddress: UInt32?, mappings: [Mapping], now: UInt64) throws
}
