import Foundation
import NFTKernel
import Testing

@testable import IPNatNetlink

/// The files that keep load records between runs: a record is read back as written, and one
/// that someone else could have written, or that lies elsewhere, is not read at all.
@Suite struct LoadRecordStoreTests {
  static let record = LoadRecord(
    scope: LoadRecord.Scope(boot: "boot", namespace: 7, table: "ipnat", generation: 3),
    sets: ["fold_1": [KernelElement(key: [10, 0, 0, 1], data: [192, 0, 2, 1])]])

  /// A fresh directory, removed after `body`; the store makes its own directory inside, as
  /// `/run/ipnat` in `/run`.
  static func inDirectory(_ body: (String) throws -> Void) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ipnat-records-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try body(directory)
  }

  @Test func aWrittenRecordIsReadBackInADirectoryOnlyItsOwnerEnters() throws {
    try Self.inDirectory { directory in
      let store = LoadRecordStore(directory: directory + "/run")
      #expect(store.read(table: "ipnat") == nil)
      store.write(Self.record)
      #expect(store.read(table: "ipnat") == Self.record)
      let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/run")
      #expect((attributes[.posixPermissions] as? Int) == 0o700)
      #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/run") == ["ipnat.loaded"])
      store.remove(table: "ipnat")
      #expect(store.read(table: "ipnat") == nil)
    }
  }

  /// A load in another namespace writes its record in the same file: asked for one scope, the
  /// store refuses a record of another from its first bytes, and reads one of that scope whole.
  @Test func aRecordOfAnotherScopeIsRefused() throws {
    try Self.inDirectory { directory in
      let store = LoadRecordStore(directory: directory)
      var large = Self.record
      large.sets["fold_2"] = (0..<50_000).map { KernelElement(key: [10, 1, UInt8($0 >> 8), UInt8($0 & 0xff)], data: [192, 0, 2, 2]) }
      store.write(large)
      #expect(store.read(table: "ipnat", scope: large.scope) == large)
      var otherNamespace = large.scope
      otherNamespace.namespace += 1
      #expect(store.read(table: "ipnat", scope: otherNamespace) == nil)
      var laterGeneration = large.scope
      laterGeneration.generation += 1
      #expect(store.read(table: "ipnat", scope: laterGeneration) == nil)
      #expect(LoadRecord.scope(atStartOf: Array(large.encoded().prefix(LoadRecord.scopeBytes))) == large.scope)
    }
  }

  /// A record others may write could describe any table: it is ignored, as is a link.
  @Test func aRecordOthersCouldHaveWrittenIsIgnored() throws {
    try Self.inDirectory { directory in
      let store = LoadRecordStore(directory: directory)
      store.write(Self.record)
      let path = store.path(ofTable: "ipnat")
      try FileManager.default.setAttributes([.posixPermissions: 0o622], ofItemAtPath: path)
      #expect(store.read(table: "ipnat") == nil)
      try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
      #expect(store.read(table: "ipnat") == Self.record)
      try FileManager.default.moveItem(atPath: path, toPath: directory + "/elsewhere")
      try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: directory + "/elsewhere")
      #expect(store.read(table: "ipnat") == nil)
    }
  }

  /// Whatever a table is called, its record stays in the directory, and two names never share
  /// a file.
  @Test func everyTableNameHasAFileOfItsOwnInTheDirectory() {
    let store = LoadRecordStore(directory: "/run/ipnat")
    let names = ["ipnat", "../etc/passwd", "a/b", ".hidden", "", "nat-gw_2.v4", "x2e-2e", "ünïcode"]
    let paths = names.map(store.path(ofTable:))
    for path in paths {
      #expect(path.hasPrefix("/run/ipnat/") && !path.dropFirst("/run/ipnat/".count).contains("/"), "\(path)")
      #expect(!path.dropFirst("/run/ipnat/".count).hasPrefix("."), "\(path)")
    }
    #expect(Set(paths).count == names.count)
    #expect(paths[0] == "/run/ipnat/ipnat.loaded")
  }
}
