import Glibc
import NFTKernel

/// Where ``KernelRuleset`` keeps the ``LoadRecord`` of each table it loads: one file per table
/// name, in a directory that only its owner writes (`/run/ipnat`, which a reboot empties).
/// Keeping a record is best effort: a record that cannot be written, read or trusted only
/// means the next load reads the table back from the kernel.
public struct LoadRecordStore: Sendable {
  public let directory: String

  public init(directory: String) { self.directory = directory }

  /// The file of `table`; a name with other bytes than letters, digits, `_`, `-` and `.`, or
  /// with a leading `.`, is written as `+` and its bytes in hex, so that no table name leaves
  /// the directory or shares another's file.
  func path(ofTable table: String) -> String {
    let plain = !table.isEmpty && !table.hasPrefix(".") && table.utf8.allSatisfy { byte in
      (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }
    let hexDigits = Array("0123456789abcdef".utf8)
    let name = plain ? table : "+" + String(decoding: table.utf8.flatMap { [hexDigits[Int($0 >> 4)], hexDigits[Int($0 & 15)]] },
                                               as: UTF8.self)
    return directory + "/" + name + ".loaded"
  }

  /// The record of `table`, if there is one this process can trust: a regular file of its own
  /// user that nobody else may write. `keepingSource`: as for `LoadRecord(decoding:keepingSource:)`.
  /// With `scope`, only a record of that scope: one of another namespace (which a load there
  /// wrote in the same directory) or generation is refused from its first bytes, unread.
  func read(table: String, keepingSource: Bool = true, scope: LoadRecord.Scope? = nil) -> LoadRecord? {
    let descriptor = open(path(ofTable: table), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_uid == geteuid(),
      status.st_mode & (S_IWGRP | S_IWOTH) == 0, status.st_size < 1 << 32
    else { return nil }
    if let scope {
      guard let start = Self.read(descriptor, count: min(Int(status.st_size), LoadRecord.scopeBytes)),
        LoadRecord.scope(atStartOf: start) == scope, lseek(descriptor, 0, SEEK_SET) == 0
      else { return nil }
    }
    return Self.read(descriptor, count: Int(status.st_size)).flatMap { LoadRecord(decoding: $0, keepingSource: keepingSource) }
  }

  /// The next `count` bytes of the file, or nil if it ends first.
  private static func read(_ descriptor: Int32, count: Int) -> [UInt8]? {
    var bytes = [UInt8](repeating: 0, count: count)
    var filled = 0
    while filled < bytes.count {
      let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { return nil }
      filled += count
    }
    return bytes
  }

  /// Writes `record` whole or not at all: into a new file, renamed over the old one.
  func write(_ record: LoadRecord) {
    if mkdir(directory, 0o700) != 0 && errno != EEXIST { return }
    let target = path(ofTable: record.scope.table)
    let temporary = target + ".\(getpid()).new"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard descriptor >= 0 else { return }
    var complete = true
    record.encode { piece in complete = complete && Self.write(piece, to: descriptor) }
    close(descriptor)
    if !complete || rename(temporary, target) != 0 { unlink(temporary) }
  }

  private static func write(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) -> Bool {
    var written = 0
    while written < bytes.count {
      let count = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { return false }
      written += count
    }
    return true
  }

  /// Forgets `table`'s record.
  func remove(table: String) {
    unlink(path(ofTable: table))
  }
}

/// This kernel's boot id, which changes at every boot; nil if the kernel does not say.
func kernelBootIdentifier() -> String? {
  guard let file = fopen("/proc/sys/kernel/random/boot_id", "r") else { return nil }
  defer { fclose(file) }
  var line = [CChar](repeating: 0, count: 64)
  guard fgets(&line, Int32(line.count), file) != nil else { return nil }
  let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  let identifier = text.hasSuffix("\n") ? String(text.dropLast()) : text
  return identifier.isEmpty ? nil : identifier
}

extension KernelRuleset {
  /// What identifies this kernel, namespace and table at `generation`; nil where the kernel
  /// cannot say which boot or namespace this is, and no record can be trusted.
  private func recordScope(table: String, generation: UInt32) -> LoadRecord.Scope? {
    guard let boot = kernelBootIdentifier(), let namespace = socket.namespaceCookie else { return nil }
    return LoadRecord.Scope(boot: boot, namespace: namespace, table: table, generation: generation)
  }

  /// The record of `table`'s last load, if it is of this kernel and namespace and nothing
  /// has committed since (`generation` is the ruleset's now): the table holds what it says.
  /// `keepingSource`: false leaves out the file it was compiled from.
  public func loadRecord(ofTable table: String, generation: UInt32, keepingSource: Bool = true) -> LoadRecord? {
    guard let store = loadRecords, let scope = recordScope(table: table, generation: generation),
      let record = store.read(table: table, keepingSource: keepingSource, scope: scope), record.scope == scope
    else { return nil }
    return record
  }

  /// The recorded elements of `table`'s named sets (``loadRecord(ofTable:generation:keepingSource:)``).
  func recordedSets(ofTable table: String, generation: UInt32) -> [String: [KernelElement]] {
    loadRecord(ofTable: table, generation: generation, keepingSource: false)?.sets ?? [:]
  }

  /// Records what `table` holds once loaded, at `generation`.
  func keepRecord(of table: KernelTable, generation: UInt32) {
    guard let store = loadRecords, let scope = recordScope(table: table.name, generation: generation) else { return }
    store.write(LoadRecord(of: table, in: scope))
  }

  /// Changes elements of `record`'s table in one transaction, refused if the ruleset changed
  /// since `generation`; then keeps `record`, which says what the table holds after them.
  public func change(_ changes: [TableUpdate.ElementChange], keeping record: LoadRecord, generation: UInt32)
    throws(NetlinkError)
  {
    var record = record
    record.scope.generation = generation
    if !changes.isEmpty {
      try transact(commit: .apply, generation: generation, tableName: record.scope.table) { messages in
        for change in changes where !change.deleting.isEmpty { messages.delete(change.deleting, fromSet: change.set) }
        for change in changes where !change.adding.isEmpty { messages.add(change.adding, toSet: change.set) }
      }
      record.scope.generation = Self.generation(after: generation)
    }
    loadRecords?.write(record)
  }

  /// The generation a transaction committed at `generation` leaves: the kernel counts up by
  /// one, skipping 0.
  static func generation(after generation: UInt32) -> UInt32 {
    generation == UInt32.max ? 1 : generation + 1
  }
}
