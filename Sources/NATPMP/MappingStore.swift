/// Where mappings take effect: the kernel's NAT map, or a fake in tests. Each call is one
/// change, applied whole or not at all.
public protocol MappingStore: AnyObject {
  /// Installs new mappings and renews existing ones (the same key with a later expiry), so that
  /// each expires by itself at its `expiry` (in milliseconds from `now`).
  func install(_ mappings: [Mapping], now: UInt64) throws
  /// Renews mappings the store holds already (`previous`, in the same order), with a later
  /// expiry and perhaps other filters, without a moment in which they are absent.
  func renew(_ mappings: [Mapping], previous: [Mapping], now: UInt64) throws
  /// Removes mappings; one that has already expired is not an error.
  func remove(_ mappings: [Mapping]) throws
  /// Starts over for a new external address (nil: none), with the mappings that remain.
  func rebuild(externalAddress: UInt32?, mappings: [Mapping], now: UInt64) throws
  /// Ends, at once or within a moment, tracked connections of these mappings' external ports
  /// (see `ConnectionsToDrop`).
  func dropConnections(of mappings: [Mapping], _ which: ConnectionsToDrop, externalAddress: UInt32) throws
}

public enum ConnectionsToDrop: Sendable {
  /// Those a mapping carried (in from a peer, or out from the client's port), which must not
  /// outlive it, and those a peer began before a new mapping existed, which would keep it from
  /// working.
  case all
  /// Those in from peers a mapping's new filters refuse, and those in that never reached the
  /// client (a peer the old filters refused, which the new ones may admit).
  case afterFilterChange
}

/// The protocol that made or last renewed a mapping, as listings and the kernel's notes name it.
public enum MappingOrigin: String, Sendable, CaseIterable {
  case natpmp = "NAT-PMP"
  case pcp = "PCP"
  case upnp = "UPnP"

  /// A note read back: its origin and description.
  public static func read(_ note: String) -> (MappingOrigin, String)? {
    allCases.lazy.compactMap { origin -> (MappingOrigin, String)? in
      if note == origin.rawValue { return (origin, "") }
      let prefix = origin.rawValue + ": "
      return note.hasPrefix(prefix) ? (origin, String(note.dropFirst(prefix.count))) : nil
    }.first
  }
}
