import Dispatch
import Glibc
import IPAddressing
import IPNatNetlink
import NATPMP
import NIOCore
import NIOPosix

/// `ipnat natpmpd`: NAT-PMP on UDP 5351 of each listen address, mappings in the daemon's own
/// nftables table, the external address followed through rtnetlink and announced.
///
/// Threads: the main thread waits for signals; one event loop does all the work (requests,
/// expiry, announcements, address changes), so the service's state needs no locks; one thread
/// blocks on rtnetlink and hands each change to the loop.
public final class Daemon {
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
    /// ipnat's exit status for it.
    public var status: Int32

    public init(description: String, status: Int32) {
      self.description = description
      self.status = status
    }
  }

  private let configuration: DaemonConfiguration
  private let log: Log

  public static let serverPort = 5351

  public init(configuration: DaemonConfiguration, log: Log) {
    self.configuration = configuration
    self.log = log
  }

  /// The internal networks of the listen addresses, from the interfaces that carry them.
  public static func listenNetworks(for configuration: DaemonConfiguration) throws(Failure) -> [ListenNetwork] {
    let addresses = InterfaceAddress.all()
    return try configuration.listenAddresses.map { address throws(Failure) in
      guard let interface = addresses.first(where: { $0.address == address }) else {
        throw Failure(description: "cannot listen on \(IPAddress.formatIPv4(address)): no interface has this address",
                      status: 1)
      }
      guard interface.interfaceName != configuration.externalInterface else {
        throw Failure(description: "\(IPAddress.formatIPv4(address)) is on \(interface.interfaceName), the external interface: natpmpd serves internal networks only",
                      status: 1)
      }
      return ListenNetwork(address: address, prefixLength: interface.prefixLength,
                           interfaceIndex: interface.interfaceIndex, interfaceName: interface.interfaceName)
    }
  }

  /// Runs until SIGTERM or SIGINT, then removes the daemon's table and returns. On SIGHUP,
  /// `reload` reads the configuration again (nil: it has errors, and the one in force stays).
  /// `detach`: called once the privileged set-up is done and before any thread starts (to fork
  /// into the background).
  public func run(detach: () throws -> Void, reload: @escaping () -> DaemonConfiguration? = { nil }) throws {
    let networks = try Self.listenNetworks(for: configuration)
    let (store, monitor, held) = try Self.openKernel(externalInterface: configuration.externalInterface)
    try detach()
    var signals = TerminationSignals()
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let service = NATPMPService(configuration: configuration, store: store)
    store.note = { [unowned service] in service.note(for: $0) }
    try adopt(held, into: service, store: store)
    let state = DaemonState(service: service, store: store, networks: networks, eventLoop: group.next(), log: log)
    try serve(state, on: group)
    if configuration.upnp { log.info("serving UPnP IGD on port \(UPnPServer.port) and SSDP of the same networks") }
    log.info("serving NAT-PMP on \(networks.map { "\(IPAddress.formatIPv4($0.address)) (\($0.interfaceName))" }.joined(separator: ", ")); external interface \(configuration.externalInterface)")
    state.eventLoop.execute { state.takeFirstAddress() }
    // Started after the privileges were dropped, so its thread inherits what is left.
    DispatchQueue.global().async {
      monitor.run { state.eventLoop.execute { state.externalAddressMayHaveChanged() } }
    }
    var signal = signals.wait()
    while signal == SIGHUP {
      if let configuration = reload() {
        try? state.eventLoop.submit { state.reconfigure(configuration) }.wait()
      }
      signal = signals.wait()
    }
    log.info("signal \(signal): removing all mappings and exiting")
    try? state.eventLoop.submit { state.shutDown() }.wait()
    try? group.syncShutdownGracefully()
  }

  /// The kernel's side, and the rtnetlink socket: what needs privileges. Returns the mappings
  /// a table left by an earlier run still holds (a crash, an upgrade), with the time each has left.
  private static func openKernel(externalInterface: String) throws(Failure)
    -> (KernelMappings, AddressMonitor, (mappings: [Mapping], notes: [Mapping.Key: String]))
  {
    do {
      let store = KernelMappings(ruleset: try KernelRuleset(), externalInterface: externalInterface)
      return (store, try AddressMonitor(), try store.heldMappings(now: 0))
    } catch let error as NetlinkError {
      throw Failure(description: "\(error)", status: error == .notPermitted ? 4 : 3)
    } catch {
      throw Failure(description: "\(error)", status: 3)
    }
  }

  /// Takes over the mappings an earlier run left, and builds the table afresh with them (no
  /// address yet: the first address change fills it in).
  private func adopt(_ held: (mappings: [Mapping], notes: [Mapping.Key: String]), into service: NATPMPService,
                     store: KernelMappings) throws(Failure) {
    service.adopt(held.mappings, notes: held.notes)
    do {
      try store.rebuild(externalAddress: nil, mappings: Array(service.table.mappings.values), now: 0)
      try store.checkRenewal()
    } catch {
      throw Failure(description: "\(error)", status: 3)
    }
    log.info(store.renewalRefreshesTimeouts
      ? "this kernel renews a mapping's timeout in place"
      : "this kernel keeps a re-added element's old timeout: renewals delete and re-add it in one transaction")
    if !held.mappings.isEmpty {
      log.info("took over \(service.table.count) of the \(held.mappings.count) mappings the kernel held")
    }
  }

  /// Opens the sockets, then keeps only CAP_NET_ADMIN in every thread there is.
  private func serve(_ state: DaemonState, on group: MultiThreadedEventLoopGroup) throws(Failure) {
    do {
      try state.open()
      try Privileges.keepOnlyNetworkAdministration()
      try group.next().submit { try Privileges.keepOnlyNetworkAdministration() }.wait()
    } catch {
      try? state.store.removeTable()
      throw Failure(description: "\(error)", status: 3)
    }
  }
}

/// SIGTERM, SIGINT and SIGHUP, blocked from creation on in this thread and so in every thread
/// it starts, to be taken with `sigwait`.
struct TerminationSignals {
  private var set = sigset_t()

  init() {
    sigemptyset(&set)
    for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, signal) }
    pthread_sigmask(SIG_BLOCK, &set, nil)
  }

  /// Blocks until one arrives; returns it.
  mutating func wait() -> Int32 {
    var signal: Int32 = 0
    sigwait(&set, &signal)
    return signal
  }
}

/// Everything the event loop owns. Touched only on `eventLoop`, hence unchecked.
final class DaemonState: @unchecked Sendable {
  let service: NATPMPService
  let store: KernelMappings
  let networks: [ListenNetwork]
  let eventLoop: any EventLoop
  let log: Log
  private var channels: [any Channel] = []
  private var upnp: UPnPServer?
  private var announcements: [Scheduled<Void>] = []
  private var expiry: RepeatedTask?
  private var connectionDrops: RepeatedTask?
  private var droppedDatagrams = RateLimitedLog()
  private let start = NIODeadline.now()

  init(service: NATPMPService, store: KernelMappings, networks: [ListenNetwork], eventLoop: any EventLoop, log: Log) {
    self.service = service
    self.store = store
    self.networks = networks
    self.eventLoop = eventLoop
    self.log = log
  }

  /// Milliseconds since the daemon started: the protocol's epoch, and the clock of expiries.
  var now: UInt64 { (NIODeadline.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1_000_000 }

  /// Binds UDP 5351 on each listen address and starts the expiry sweep.
  func open() throws {
    for network in networks {
      let channel = try DatagramBootstrap(group: eventLoop)
        .channelOption(.socketOption(.so_reuseaddr), value: 1)
        .channelOption(.receivePacketInfo, value: true)
        .channelInitializer { channel in
          channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RequestHandler(state: self, network: network))
          }
        }
        .bind(host: IPAddress.formatIPv4(network.address), port: Daemon.serverPort).wait()
      // Announcements leave through the listen address's own interface, and not back to us.
      if let provider = channel as? any SocketOptionProvider {
        try provider.setIPMulticastIF(in_addr(s_addr: network.address.bigEndian)).wait()
        try provider.setIPMulticastLoop(0).wait()
      }
      channels.append(channel)
    }
    if service.configuration.upnp {
      let server = UPnPServer(state: self)
      try server.open()
      upnp = server
    }
    expiry = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
      for mapping in self.service.expire(now: self.now) {
        self.log.info("\(IPAddress.formatIPv4(mapping.client)):\(mapping.internalPort) \(mapping.transport): "
                        + "mapping to external port \(mapping.externalPort) expired")
      }
      self.restoreTableIfGone()
    }
    // A tenth of a second: flows stop well within a second of their mapping's end.
    connectionDrops = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { _ in
      do {
        try self.store.flushConnectionDrops()
      } catch {
        self.log.error("cannot end the connections of changed mappings: \(error)")
      }
    }
  }

  /// Another program may remove the table (`nft flush ruleset`, as Debian's nftables.service
  /// does at every start): put it back with every mapping, restart the epoch so that clients
  /// map again, and announce.
  private func restoreTableIfGone() {
    guard (try? store.tableExists()) == false else { return }
    do {
      try service.restore(now: now)
    } catch {
      log.error("the table was removed by another program and cannot be restored: \(error)")
      return
    }
    log.warning("the table was removed by another program: restored with \(service.table.count) mappings")
    if service.externalAddress != nil { announce() }
  }

  /// A configuration read again on SIGHUP.
  func reconfigure(_ configuration: DaemonConfiguration) {
    let ended = service.reconfigure(configuration, now: now)
    log.info("configuration reloaded: \(service.table.count) mappings kept, \(ended.count) ended")
    if configuration.externalInterface != service.configuration.externalInterface
      || configuration.listenAddresses != service.configuration.listenAddresses || configuration.upnp != (upnp != nil)
    {
      log.warning("a new external interface, listen address or upnp setting takes effect at the next start")
    }
  }

  /// At start: the address, if the interface has one yet; if not, say why requests fail.
  func takeFirstAddress() {
    externalAddressMayHaveChanged()
    if service.externalAddress == nil { warnNoAddress() }
  }

  private func warnNoAddress() {
    log.warning("\(service.configuration.externalInterface) has no IPv4 address: requests get 'network failure' until it has one")
  }

  /// Reads the external interface's address; on a change, rebuilds the table and announces.
  func externalAddressMayHaveChanged() {
    let address = InterfaceAddress.primary(of: service.configuration.externalInterface)
    do {
      guard try service.setExternalAddress(address, now: now) else { return }
    } catch {
      log.error("cannot follow the external address to \(address.map(IPAddress.formatIPv4) ?? "none"): \(error)")
      return
    }
    guard let address = service.externalAddress else {
      warnNoAddress()
      cancelAnnouncements()
      return
    }
    log.info("external address \(IPAddress.formatIPv4(address))")
    announce()
  }

  /// Ten announcements, the first now, then at doubling intervals; a newer change cancels them.
  private func announce() {
    cancelAnnouncements()
    var delay: UInt64 = 0
    for gap in Announcements.delaysInMilliseconds {
      delay += gap
      announcements.append(eventLoop.scheduleTask(in: .milliseconds(Int64(delay))) { self.sendAnnouncement() })
    }
  }

  private func cancelAnnouncements() {
    for announcement in announcements { announcement.cancel() }
    announcements = []
  }

  private func sendAnnouncement() {
    // Never 0.0.0.0: without an address there is nothing to announce.
    guard let address = service.externalAddress else { return }
    let epoch = service.epoch(now: now)
    // NAT-PMP's announcement, and PCP's unsolicited ANNOUNCE to the same group (RFC 6887 §14.1).
    var messages = [Response.externalAddress(address, result: .success, epoch: epoch)]
    if service.configuration.pcp { messages.append(PCP.announcement(epoch: epoch)) }
    guard let group = try? SocketAddress(ipAddress: IPAddress.formatIPv4(Announcements.group), port: Announcements.port)
    else { return }
    for channel in channels {
      for bytes in messages {
        let envelope = AddressedEnvelope(remoteAddress: group, data: channel.allocator.buffer(bytes: bytes))
        channel.writeAndFlush(envelope, promise: nil)
      }
    }
  }

  /// The log of a request: a mapping change always (who opened which port), a dropped datagram
  /// at a limited rate, anything else only with `-v`.
  func record(_ reply: NATPMPService.Reply, from client: UInt32) {
    let line = "\(IPAddress.formatIPv4(client)): \(reply.event)"
    if reply.changedMappings {
      log.info(line)
    } else if reply.bytes == nil {
      logDropped(line)
    } else {
      log.debug(line)
    }
  }

  func logDropped(_ line: String) {
    for message in droppedDatagrams.lines(for: line, now: now) { log.info(message) }
  }

  func shutDown() {
    cancelAnnouncements()
    expiry?.cancel()
    connectionDrops?.cancel()
    do {
      try store.removeTable()
    } catch {
      log.error("cannot remove the mappings: \(error)")
    }
    upnp?.close()
    for channel in channels { channel.close(promise: nil) }
  }
}

/// Answers the requests of one internal network.
final class RequestHandler: ChannelInboundHandler {
  typealias InboundIn = AddressedEnvelope<ByteBuffer>
  typealias OutboundOut = AddressedEnvelope<ByteBuffer>

  private let state: DaemonState
  private let network: ListenNetwork

  init(state: DaemonState, network: ListenNetwork) {
    self.state = state
    self.network = network
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let envelope = Self.unwrapInboundIn(data)
    guard case .v4(let source) = envelope.remoteAddress else { return }
    let client = UInt32(bigEndian: source.address.sin_addr.s_addr)
    let interfaceIndex = envelope.metadata?.packetInfo?.interfaceIndex
    guard network.admits(client, arrivedOn: interfaceIndex) else {
      state.logDropped("ignored a datagram from \(IPAddress.formatIPv4(client)) on interface \(interfaceIndex ?? 0): not from \(network.interfaceName)'s network")
      return
    }
    let reply = state.service.respond(to: Array(envelope.data.readableBytesView), from: client, now: state.now)
    state.record(reply, from: client)
    guard let bytes = reply.bytes else { return }
    let response = AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: context.channel.allocator.buffer(bytes: bytes))
    context.writeAndFlush(Self.wrapOutboundOut(response), promise: nil)
  }

  /// A failed send (an ICMP error for an earlier reply, say) must not close the socket.
  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    state.log.debug("socket error: \(error)")
  }
}
