import CNftables
import Glibc
import NFTModel

/// One nfnetlink batch: BEGIN, messages, END. Each message gets its own sequence number, and
/// the batch remembers what each one was about, so that a kernel error names it.
final class MessageBatch {
  private let batch: OpaquePointer
  private var sequence: UInt32
  private(set) var subjects: [UInt32: Subject] = [:]
  private(set) var messageCount = 0
  let beginSequence: UInt32

  /// What a message creates or removes, for error messages.
  enum Subject: Equatable {
    case batch
    case table(String)
    case chain(String)
    case set(String)
    case object(String)
    case rule(chain: String, origin: Origin?)

    /// How an error message names it.
    var description: String {
      switch self {
      case .batch: "the batch"
      case .table(let name): "table \(name)"
      case .chain(let name): "chain \(name)"
      case .set(let name): "set \(name)"
      case .object(let name): "object \(name)"
      case .rule(let chain, _): "a rule in chain \(chain)"
      }
    }

    /// The ipnat.conf rule behind a rule message.
    var origin: Origin? { if case .rule(_, let origin) = self { origin } else { nil } }
  }

  /// nft's page layout: 32 pages per chunk, and room past a page for one message of up to 64 KiB.
  init(firstSequence: UInt32) {
    let page = UInt32(sysconf(Int32(_SC_PAGESIZE)))
    batch = nftnl_batch_alloc(page * 32, 65535 + page)
    sequence = firstSequence
    beginSequence = firstSequence
  }

  deinit { nftnl_batch_free(batch) }

  private var buffer: UnsafeMutablePointer<CChar> {
    nftnl_batch_buffer(batch).assumingMemoryBound(to: CChar.self)
  }

  private func nextSequence(for subject: Subject) -> UInt32 {
    defer { sequence += 1 }
    subjects[sequence] = subject
    return sequence
  }

  /// BATCH_BEGIN; with a generation id, the kernel refuses the batch (ERESTART) when any other
  /// transaction committed since that generation was read.
  func begin(generation: UInt32?) {
    let header = nftnl_batch_begin(buffer, nextSequence(for: .batch))
    if let generation { mnl_attr_put_u32(header, UInt16(NFNL_BATCH_GENID.rawValue), generation.bigEndian) }
    nftnl_batch_update(batch)
  }

  func end() {
    nftnl_batch_end(buffer, nextSequence(for: .batch))
    nftnl_batch_update(batch)
  }

  /// Adds one message; `build` fills in its payload.
  func add(_ type: nf_tables_msg_types, family: UInt8, flags: Int32, subject: Subject,
           _ build: (UnsafeMutablePointer<nlmsghdr>) -> Void)
  {
    let header = nftnl_nlmsg_build_hdr(buffer, UInt16(type.rawValue), UInt16(family), UInt16(flags),
                                       nextSequence(for: subject))!
    build(header)
    nftnl_batch_update(batch)
    messageCount += 1
  }

  /// The chunks of the batch, for one `sendmsg`.
  func iovecs() -> [iovec] {
    let count = nftnl_batch_iovec_len(batch)
    var vectors = [iovec](repeating: iovec(), count: Int(count))
    vectors.withUnsafeMutableBufferPointer { nftnl_batch_iovec(batch, $0.baseAddress, UInt32(count)) }
    return vectors
  }

  var byteCount: Int { iovecs().reduce(0) { $0 + $1.iov_len } }
}
