import CNftables
import Glibc

/// A reply from the kernel: an error (or acknowledgement) for one message of a request.
struct NetlinkReply {
  var sequence: UInt32
  /// 0 for an acknowledgement, otherwise a positive errno.
  var error: Int32
  /// `NLMSGERR_ATTR_OFFS`: where in the request the offending attribute starts, when known.
  var attributeOffset: UInt32?
}

/// Caps on the socket buffers, in bytes asked for (the kernel grants twice as much).
public struct SocketBufferLimits: Sendable {
  public var send: Int
  public var receive: Int

  public init(send: Int, receive: Int) {
    self.send = send
    self.receive = receive
  }
}

/// A NETLINK_NETFILTER socket. One per command; closed when released.
final class NetlinkSocket {
  private let socket: OpaquePointer
  let portID: UInt32
  /// See ``KernelRuleset/init(bufferLimits:)``.
  var bufferLimits: SocketBufferLimits?
  private var fileDescriptor: Int32 { mnl_socket_get_fd(socket) }

  init() throws(NetlinkError) {
    guard let socket = mnl_socket_open(NETLINK_NETFILTER) else { throw .system("open a netlink socket", errno) }
    guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
      let code = errno
      mnl_socket_close(socket)
      throw .system("bind the netlink socket", code)
    }
    self.socket = socket
    portID = mnl_socket_get_portid(socket)
    // Errors say where in the request they point, and do not echo the request back.
    setOption(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    setOption(SOL_NETLINK, NETLINK_CAP_ACK, 1)
  }

  deinit { mnl_socket_close(socket) }

  @discardableResult
  private func setOption(_ level: Int32, _ name: Int32, _ value: Int32) -> Bool {
    var value = value
    return setsockopt(fileDescriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
  }

  /// Makes the buffers hold a whole batch and the replies to it. The kernel refuses a batch
  /// larger than the send buffer (EMSGSIZE) and drops replies that do not fit (ENOBUFS).
  /// The FORCE variants pass the system limits but need CAP_NET_ADMIN in the initial user
  /// namespace; without it the plain options are capped at the sysctl maxima.
  func reserve(sending bytes: Int, replies: Int) {
    var send = bytes + 65536
    var receive = max(replies * 1024, 1 << 20)
    // With limits (the loader's tests), no FORCE: what a process without it gets, capped.
    if let limits = bufferLimits { (send, receive) = (min(send, limits.send), min(receive, limits.receive)) }
    setBuffer(SO_SNDBUF, forcing: bufferLimits == nil ? SO_SNDBUFFORCE : nil, to: send)
    setBuffer(SO_RCVBUF, forcing: bufferLimits == nil ? SO_RCVBUFFORCE : nil, to: receive)
  }

  /// The FORCE option when given and permitted, else the plain one.
  private func setBuffer(_ option: Int32, forcing force: Int32?, to size: Int) {
    let size = Int32(clamping: size)
    if let force, setOption(SOL_SOCKET, force, size) { return }
    setOption(SOL_SOCKET, option, size)
  }

  /// The cookie of the socket's network namespace (`SO_NETNS_COOKIE`, Linux 5.14): unique
  /// among the namespaces of one boot, never reused. Nil where the kernel has no such option.
  var namespaceCookie: UInt64? {
    var value: UInt64 = 0
    var length = socklen_t(MemoryLayout<UInt64>.size)
    guard getsockopt(fileDescriptor, SOL_SOCKET, Self.namespaceCookieOption, &value, &length) == 0,
      length == MemoryLayout<UInt64>.size
    else { return nil }
    return value
  }

  /// `SO_NETNS_COOKIE`, which Glibc's headers may not have yet.
  private static let namespaceCookieOption: Int32 = 71

  /// The send buffer the kernel granted (it doubles what is asked for, up to its limits).
  var sendBufferSize: Int {
    var value: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    guard getsockopt(fileDescriptor, SOL_SOCKET, SO_SNDBUF, &value, &length) == 0 else { return 0 }
    return Int(value)
  }

  /// Sends a batch in one `sendmsg`: one datagram is one kernel transaction.
  func send(_ batch: MessageBatch) throws(NetlinkError) {
    var vectors = batch.iovecs()
    var address = sockaddr_nl()
    address.nl_family = sa_family_t(AF_NETLINK)
    let sent = vectors.withUnsafeMutableBufferPointer { buffer in
      withUnsafeMutablePointer(to: &address) { addressPointer in
        var message = msghdr()
        message.msg_name = UnsafeMutableRawPointer(addressPointer)
        message.msg_namelen = socklen_t(MemoryLayout<sockaddr_nl>.size)
        message.msg_iov = buffer.baseAddress
        message.msg_iovlen = buffer.count
        return sendmsg(fileDescriptor, &message, 0)
      }
    }
    guard sent >= 0 else { throw .system("send the batch", errno) }
  }

  /// Sends one request message.
  func send(_ bytes: [UInt8]) throws(NetlinkError) {
    let sent = bytes.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
    guard sent >= 0 else { throw .system("send a request", errno) }
  }

  /// Every reply already queued. nfnetlink handles a whole batch inside `sendmsg`, so
  /// when it returns, every reply is there.
  func drainReplies() throws(NetlinkError) -> [NetlinkReply] {
    var replies: [NetlinkReply] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = buffer.withUnsafeMutableBytes { recv(fileDescriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
      if count < 0 {
        let code = errno
        if code == EAGAIN || code == EWOULDBLOCK { return replies }
        if code == EINTR { continue }
        throw .system("read the kernel's replies", code)
      }
      buffer.withUnsafeBytes { replies += Self.errors(in: UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
    }
  }

  /// Sends a request and collects every message of the answer (a dump or a single reply)
  /// until the kernel says it is done.
  /// Replies to earlier requests (a late acknowledgement, say) are skipped by sequence number.
  func request(_ bytes: [UInt8], sequence: UInt32) throws(NetlinkError) -> [[UInt8]] {
    try send(bytes)
    var messages: [[UInt8]] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = buffer.withUnsafeMutableBytes { mnl_socket_recvfrom(socket, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        throw .system("read the kernel's answer", errno)
      }
      var finished = false
      var failure: Int32 = 0
      buffer.withUnsafeBytes { raw in
        Self.walk(UnsafeRawBufferPointer(rebasing: raw.prefix(count))) { header, body in
          guard header.pointee.nlmsg_seq == sequence else { return }
          let type = Int32(header.pointee.nlmsg_type)
          if type == NLMSG_DONE {
            finished = true
          } else if type == NLMSG_ERROR {
            let error = body.load(as: nlmsgerr.self).error
            failure = -error
            finished = true
          } else {
            messages.append(Array(UnsafeRawBufferPointer(start: header, count: Int(header.pointee.nlmsg_len))))
            if header.pointee.nlmsg_flags & UInt16(NLM_F_MULTI) == 0 { finished = true }
          }
        }
      }
      if failure != 0 { throw .kernel(failure, context: nil) }
      if finished { return messages }
    }
  }

  /// Calls `body` for each message in a buffer of netlink messages.
  static func walk(_ buffer: UnsafeRawBufferPointer,
                   _ body: (UnsafeMutablePointer<nlmsghdr>, UnsafeRawBufferPointer) -> Void)
  {
    guard let base = buffer.baseAddress else { return }
    var header = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: nlmsghdr.self))
    var remaining = Int32(buffer.count)
    while mnl_nlmsg_ok(header, remaining) {
      let payloadLength = Int(header.pointee.nlmsg_len) - MemoryLayout<nlmsghdr>.size
      body(header, UnsafeRawBufferPointer(start: mnl_nlmsg_get_payload(header), count: max(payloadLength, 0)))
      header = mnl_nlmsg_next(header, &remaining)
    }
  }

  private static func errors(in buffer: UnsafeRawBufferPointer) -> [NetlinkReply] {
    var replies: [NetlinkReply] = []
    walk(buffer) { header, body in
      guard Int32(header.pointee.nlmsg_type) == NLMSG_ERROR, body.count >= MemoryLayout<nlmsgerr>.size else { return }
      let error = body.load(as: nlmsgerr.self)
      replies.append(NetlinkReply(sequence: header.pointee.nlmsg_seq, error: -error.error,
                                  attributeOffset: attributeOffset(header, error: error)))
    }
    return replies
  }

  /// The `NLMSGERR_ATTR_OFFS` TLV that follows `nlmsgerr` when the kernel sends extended acks.
  private static func attributeOffset(_ header: UnsafeMutablePointer<nlmsghdr>, error: nlmsgerr) -> UInt32? {
    guard header.pointee.nlmsg_flags & UInt16(NLM_F_ACK_TLVS) != 0 else { return nil }
    var skip = MemoryLayout<nlmsgerr>.size
    if header.pointee.nlmsg_flags & UInt16(NLM_F_CAPPED) == 0 {
      skip += Int(error.msg.nlmsg_len) - MemoryLayout<nlmsghdr>.size
    }
    let payload = UnsafeRawPointer(mnl_nlmsg_get_payload(header)!)
    let end = payload + (Int(header.pointee.nlmsg_len) - MemoryLayout<nlmsghdr>.size)
    var cursor = payload + skip
    while cursor + 4 <= end {
      let length = Int(cursor.loadUnaligned(as: UInt16.self))
      let type = cursor.loadUnaligned(fromByteOffset: 2, as: UInt16.self) & 0x3fff
      guard length >= 4 else { return nil }
      if type == UInt16(NLMSGERR_ATTR_OFFS.rawValue), length >= 8 {
        return cursor.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
      }
      cursor += (length + 3) & ~3
    }
    return nil
  }
}
