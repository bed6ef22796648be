import Foundation

/// What a process printed and how it ended.
public struct ProcessResult: Sendable {
  public var status: Int32
  public var standardOutput: String
  public var standardError: String
}

/// The built `ipnat` binary and shell scripts run in throwaway network namespaces.
public enum Shell {
  /// `ipnat` sits next to the test bundle in the build folder.
  public static let ipnatPath: String = {
    let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = testBinary.deletingLastPathComponent()
    while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("ipnat").path),
      directory.path != "/"
    {
      directory = directory.deletingLastPathComponent()
    }
    return directory.appendingPathComponent("ipnat").path
  }()

  /// Runs an executable with arguments, feeding `input` to its standard input.
  public static func run(_ executable: String, _ arguments: [String], input: String? = nil,
                         environment: [String: String] = [:]) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var merged = ProcessInfo.processInfo.environment
    merged.removeValue(forKey: "IPNAT_PREDEFINED")
    merged["SWIFT_BACKTRACE"] = "enable=no"
    merged.merge(environment) { _, new in new }
    process.environment = merged
    let output = Pipe()
    let error = Pipe()
    let standardInput = Pipe()
    process.standardOutput = output
    process.standardError = error
    process.standardInput = standardInput
    try process.run()
    if let input { standardInput.fileHandleForWriting.write(Data(input.utf8)) }
    try standardInput.fileHandleForWriting.close()
    // Read both pipes concurrently: a child that fills one while we wait on the other would hang.
    nonisolated(unsafe) var errorData = Data()
    let reader = Thread { errorData = error.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return ProcessResult(status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
                         standardError: String(decoding: errorData, as: UTF8.self))
  }

  /// Runs a `sh` script inside a new, empty network namespace that disappears with it, in a
  /// temporary directory removed afterwards, with `$IPNAT` naming the built binary and `$NFT`
  /// nft. Nothing outside the namespace is touched: ipnat's run directory (its records of what
  /// it loaded) is in the temporary directory too, unless the environment names one.
  public static func inNamespace(_ script: String, timeout seconds: Int = 120,
                                 environment: [String: String] = [:]) throws -> ProcessResult {
    var environment = environment
    environment["IPNAT"] = ipnatPath
    environment["NFT"] = NFTCheck.nftPath
    return try run("/usr/bin/timeout", ["--kill-after=5", String(seconds), NFTCheck.unsharePath, "--net", "sh", "-c",
                                        """
      set -u
      work=$(mktemp -d) && cd "$work" || exit 99
      trap 'cd / && rm -rf "$work"' EXIT
      export IPNAT_RUN_DIRECTORY="${IPNAT_RUN_DIRECTORY:-$work/run}"
      """ + "\n" + script], environment: environment)
  }
}
