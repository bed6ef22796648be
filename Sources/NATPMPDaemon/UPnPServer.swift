import Glibc
import IPAddressing
import NATPMP
import NIOCore
import NIOHTTP1
import NIOPosix
import UPnP

/// UPnP IGD on the internal networks (`upnp on`): SSDP on 239.255.255.250:1900, joined on each
/// listen interface only, and the description and control server on TCP `port` of each listen
/// address. Neither answers anyone outside the listen networks. Everything runs on the daemon's
/// one event loop, like NAT-PMP and PCP, against the same service.
final class UPnPServer: @unchecked Sendable {
  static let port = 5000
  /// A request body larger than this is refused (413); no UPnP action needs a tenth of it.
  static let maximumBody = 16 * 1024
  /// Connections open at once; more are closed at once.
  static let maximumConnections = 32
  /// A connection idle this long is closed.
  static let idleTimeout = TimeAmount.seconds(10)

  let state: DaemonState
  let gateway: Gateway
  private let bootID = Int(time(nil))
  private var channels: [any Channel] = []
  private var notifiers: [(network: ListenNetwork, channel: any Channel)] = []
  private var alive: RepeatedTask?
  private var searchAnswers = SearchLimiter()
  var openConnections = 0

  init(state: DaemonState) {
    self.state = state
    let configuration = state.service.configuration
    let interface = configuration.externalInterface
    gateway = Gateway(service: state.service, uuid: Self.uuid(configuration), start: state.now) {
      Self.counters(of: interface)
    }
  }

  /// The description's UUID: the same for the same gateway across restarts, so that control
  /// points know it again.
  static func uuid(_ configuration: DaemonConfiguration) -> String {
    var hash: (UInt64, UInt64) = (0xcbf2_9ce4_8422_2325, 0x8422_2325_cbf2_9ce4)
    for byte in Array("ipnat-natpmpd \(configuration.externalInterface) \(configuration.listenAddresses)".utf8) {
      hash.0 = (hash.0 ^ UInt64(byte)) &* 0x100_0000_01b3
      hash.1 = (hash.1 &+ UInt64(byte)) &* 0x100_0000_01b3
    }
    func hex(_ value: UInt64) -> String {
      let digits = String(value, radix: 16)
      return String(repeating: "0", count: 16 - digits.count) + digits
    }
    let hex = hex(hash.0) + hex(hash.1)
    let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
      String(hex.dropFirst(range.lowerBound).prefix(range.count))
    }
    return parts.joined(separator: "-")
  }

  func identity(of network: ListenNetwork) -> DeviceIdentity {
    DeviceIdentity(uuid: gateway.uuid, baseURL: "http://\(IPAddress.formatIPv4(network.address)):\(Self.port)",
                   bootID: bootID)
  }

  func open() throws {
    for network in state.networks {
      channels.append(try ServerBootstrap(group: state.eventLoop)
        .serverChannelOption(.backlog, value: 16)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
          channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: Self.idleTimeout))
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
            try channel.pipeline.syncOperations.addHandler(ControlHandler(server: self, network: network))
          }
        }
        .bind(host: IPAddress.formatIPv4(network.address), port: Self.port).wait())
      let notifier = try DatagramBootstrap(group: state.eventLoop)
        .bind(host: IPAddress.formatIPv4(network.address), port: 0).wait()
      if let provider = notifier as? any SocketOptionProvider {
        try provider.setIPMulticastIF(in_addr(s_addr: network.address.bigEndian)).wait()
        try provider.setIPMulticastLoop(0).wait()
      }
      notifiers.append((network, notifier))
    }
    try openDiscovery()
    announce(alive: true)
    // Within the advertisements' max-age (UDA §1.2.2: well before it runs out).
    alive = state.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(600), delay: .seconds(600)) { _ in
      self.announce(alive: true)
    }
  }

  /// One socket on 1900, joined to the group on each listen interface only: a search from the
  /// external side is never received.
  private func openDiscovery() throws {
    let channel = try DatagramBootstrap(group: state.eventLoop)
      .channelOption(.socketOption(.so_reuseaddr), value: 1)
      .channelOption(.receivePacketInfo, value: true)
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(DiscoveryHandler(server: self))
        }
      }
      .bind(host: SSDP.group, port: SSDP.port).wait()
    let group = try SocketAddress(ipAddress: SSDP.group, port: SSDP.port)
    let devices = try System.enumerateDevices()
    for network in state.networks {
      let device = devices.first { $0.interfaceIndex == network.interfaceIndex && $0.address?.protocol == .inet }
      try (channel as! any MulticastChannel).joinGroup(group, device: device).wait()
    }
    channels.append(channel)
  }

  /// The answer to a search that arrived from `client` on `interfaceIndex`, if it is one to answer.
  func answer(search: [UInt8], from client: UInt32, arrivedOn interfaceIndex: Int?) -> [UInt8]? {
    guard let network = state.networks.first(where: { $0.admits(client, arrivedOn: interfaceIndex) }),
      let target = SSDP.searchTarget(search)
    else { return nil }
    guard searchAnswers.allows(client, now: state.now) else {
      state.logDropped("SSDP: searches from \(IPAddress.formatIPv4(client)) beyond the rate answered")
      return nil
    }
    return SSDP.answer(to: target, device: identity(of: network))
  }

  private func announce(alive: Bool) {
    guard let group = try? SocketAddress(ipAddress: SSDP.group, port: SSDP.port) else { return }
    for (network, channel) in notifiers {
      for message in SSDP.notifications(alive: alive, device: identity(of: network)) {
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: group, data: channel.allocator.buffer(bytes: message)),
                              promise: nil)
      }
    }
  }

  func close() {
    alive?.cancel()
    announce(alive: false)
    for channel in channels + notifiers.map(\.channel) { channel.close(promise: nil) }
  }

  /// The external interface's counters, from sysfs.
  static func counters(of interface: String) -> Gateway.Counters {
    // A counter file holds the number and a newline.
    func read(_ name: String) -> UInt64 {
      let descriptor = Glibc.open("/sys/class/net/\(interface)/statistics/\(name)", O_RDONLY)
      guard descriptor >= 0 else { return 0 }
      defer { Glibc.close(descriptor) }
      var bytes = [UInt8](repeating: 0, count: 32)
      let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
      guard count > 0 else { return 0 }
      return UInt64(String(decoding: bytes[..<count], as: UTF8.self).filter { !$0.isWhitespace }) ?? 0
    }
    var counters = Gateway.Counters()
    (counters.bytesSent, counters.bytesReceived) = (read("tx_bytes"), read("rx_bytes"))
    (counters.packetsSent, counters.packetsReceived) = (read("tx_packets"), read("rx_packets"))
    return counters
  }
}

/// At most a few answers a second to one address, and a few dozen in all: SSDP must never
/// flood anyone, whoever a spoofed search names.
struct SearchLimiter {
  static let perClient = 5
  static let overall = 50
  private var second: UInt64 = 0
  private var counts: [UInt32: Int] = [:]
  private var total = 0

  mutating func allows(_ client: UInt32, now: UInt64) -> Bool {
    if now / 1000 != second { (second, counts, total) = (now / 1000, [:], 0) }
    guard counts[client, default: 0] < Self.perClient, total < Self.overall else { return false }
    counts[client, default: 0] += 1
    total += 1
    return true
  }
}

/// M-SEARCH in, one unicast answer out.
final class DiscoveryHandler: ChannelInboundHandler {
  typealias InboundIn = AddressedEnvelope<ByteBuffer>
  typealias OutboundOut = AddressedEnvelope<ByteBuffer>
  private let server: UPnPServer

  init(server: UPnPServer) { self.server = server }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let envelope = Self.unwrapInboundIn(data)
    guard case .v4(let source) = envelope.remoteAddress else { return }
    let client = UInt32(bigEndian: source.address.sin_addr.s_addr)
    guard let answer = server.answer(search: Array(envelope.data.readableBytesView), from: client,
                                     arrivedOn: envelope.metadata?.packetInfo?.interfaceIndex)
    else { return }
    let reply = AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: context.channel.allocator.buffer(bytes: answer))
    context.writeAndFlush(Self.wrapOutboundOut(reply), promise: nil)
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    server.state.log.debug("SSDP socket error: \(error)")
  }
}

/// One HTTP connection: requests from the listen network only, bodies of bounded size, one
/// answer, then the connection closes.
final class ControlHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart
  private let server: UPnPServer
  private let network: ListenNetwork
  private var head: HTTPRequestHead?
  private var body: [UInt8] = []
  private var tooLarge = false
  private var client: UInt32 = 0

  init(server: UPnPServer, network: ListenNetwork) {
    self.server = server
    self.network = network
  }

  func channelActive(context: ChannelHandlerContext) {
    server.openConnections += 1
    guard case .v4(let remote)? = context.remoteAddress,
      network.admits(UInt32(bigEndian: remote.address.sin_addr.s_addr), arrivedOn: nil),
      server.openConnections <= UPnPServer.maximumConnections
    else {
      context.close(promise: nil)
      return
    }
    client = UInt32(bigEndian: remote.address.sin_addr.s_addr)
    context.fireChannelActive()
  }

  func channelInactive(context: ChannelHandlerContext) {
    server.openConnections -= 1
    context.fireChannelInactive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch Self.unwrapInboundIn(data) {
    case .head(let request):
      (head, body, tooLarge) = (request, [], false)
    case .body(let buffer):
      if body.count + buffer.readableBytes > UPnPServer.maximumBody {
        tooLarge = true
      } else {
        body += buffer.readableBytesView
      }
    case .end:
      guard let head else { return }
      let answer = tooLarge ? Gateway.Answer(status: 413, body: [], event: nil)
        : server.gateway.respond(method: head.method.rawValue, path: head.uri, soapAction: head.headers["SOAPACTION"].first,
                                 body: body, from: client, now: server.state.now)
      if let event = answer.event { server.state.log.info(event) }
      respond(answer, context: context)
    }
  }

  private func respond(_ answer: Gateway.Answer, context: ChannelHandlerContext) {
    var headers = HTTPHeaders()
    if !answer.body.isEmpty { headers.add(name: "Content-Type", value: "text/xml; charset=\"utf-8\"") }
    headers.add(name: "Content-Length", value: String(answer.body.count))
    headers.add(name: "Connection", value: "close")
    headers.add(name: "Server", value: "Linux UPnP/1.1 ipnat-natpmpd/1")
    let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: answer.status), headers: headers)
    context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
    if !answer.body.isEmpty {
      context.write(Self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer.body)))), promise: nil)
    }
    let channel = context.channel
    context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    context.close(promise: nil)
  }
}
