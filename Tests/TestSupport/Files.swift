#if canImport(Glibc)
  import Glibc
#endif

/// The folder holding the source file that calls this (`#filePath`), for golden files.
public func directory(of path: String = #filePath) -> String {
  String(path[..<path.lastIndex(of: "/")!])
}

public func readFile(_ path: String) -> String? {
  readBytes(path).map { String(decoding: $0, as: UTF8.self) }
}

public func readBytes(_ path: String) -> [UInt8]? {
  guard let file = fopen(path, "r") else { return nil }
  defer { fclose(file) }
  var bytes: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 1 << 16)
  while true {
    let count = fread(&buffer, 1, buffer.count, file)
    if count <= 0 { break }
    bytes += buffer[0..<count]
  }
  return bytes
}

public func writeFile(_ path: String, _ text: String) {
  guard let file = fopen(path, "w") else { return }
  defer { fclose(file) }
  _ = Array(text.utf8).withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
}

/// The files in a directory whose names end in `suffix`, sorted.
public func files(in directory: String, endingWith suffix: String) -> [String] {
  guard let handle = opendir(directory) else { return [] }
  defer { closedir(handle) }
  var names: [String] = []
  while let entry = readdir(handle) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    if name.hasSuffix(suffix) { names.append(name) }
  }
  return names.sorted()
}

/// Golden files: `RECORD_GOLDEN=1 swift test` writes what the code produces (and removes the
/// files of outputs that are now absent); otherwise this returns the recorded text.
public enum Golden {
  public static var isRecording: Bool { getenv("RECORD_GOLDEN") != nil }

  /// The recorded text at `path`, or `nil` when there is none. When recording, `actual` is
  /// written first (or the file removed when `actual` is `nil`).
  public static func recorded(at path: String, actual: String?) -> String? {
    if isRecording {
      if let actual { writeFile(path, actual) } else { unlink(path) }
    }
    return readFile(path)
  }
}
