#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import IPNatDiagnostics

/// Reads the configuration to work on, from a path or from standard input (`-`).
public enum InputReader {
  /// The largest input accepted. A NAT configuration of 300,000 rules is about 20 MB; a larger
  /// input is far more likely a mistake (the wrong file) than a ruleset, and is refused before
  /// it can exhaust memory.
  public static let maximumBytes = 64 << 20

  public struct Failure: Error, Sendable, CustomStringConvertible {
    public var description: String
  }

  /// The display name used in diagnostics for standard input.
  public static let standardInputName = "<stdin>"

  public static func read(_ path: String) throws(Failure) -> SourceFile {
    if path == "-" { return SourceFile(name: standardInputName, bytes: try readAll(fileDescriptor: 0, name: path)) }
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw Failure(description: "cannot open '\(path)': \(errorText())") }
    defer { close(descriptor) }
    var status = stat()
    var expectedSize = 0
    if fstat(descriptor, &status) == 0 {
      if (status.st_mode & S_IFMT) == S_IFDIR { throw Failure(description: "'\(path)' is a directory, not a configuration file") }
      if (status.st_mode & S_IFMT) == S_IFREG { expectedSize = Int(status.st_size) }
    }
    return SourceFile(name: path, bytes: try readAll(fileDescriptor: descriptor, name: path, expectedSize: expectedSize))
  }

  /// `expectedSize`: a regular file's size, so that its bytes are stored once, in room made
  /// for them, rather than in room that doubles as it fills.
  private static func readAll(fileDescriptor: Int32, name: String, expectedSize: Int = 0) throws(Failure) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(min(expectedSize, maximumBytes))
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = chunk.withUnsafeMutableBytes { systemRead(fileDescriptor, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        throw Failure(description: "cannot read '\(name)': \(errorText())")
      }
      if count == 0 { return bytes }
      bytes.append(contentsOf: chunk[0..<count])
      if bytes.count > maximumBytes {
        throw Failure(description: "'\(name)' is larger than \(maximumBytes >> 20) MiB, the most ipnat reads")
      }
    }
  }

  private static func errorText() -> String { String(cString: strerror(errno)) }
}

#if canImport(Glibc)
  private let systemRead = Glibc.read
#elseif canImport(Musl)
  private let systemRead = Musl.read
#elseif canImport(Darwin)
  private let systemRead = Darwin.read
#endif
