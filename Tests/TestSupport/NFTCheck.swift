import Foundation

/// Runs `nft -c -f -` on a script inside a new, empty network namespace (`unshare -n`), so the
/// kernel validates the whole transaction and throws it away, and the machine's own ruleset is
/// never involved. Returns nft's error output, or `nil` when the script was accepted.
public enum NFTCheck {
  /// Whether nft and a namespace can be had here (root, nftables installed). CI sets
  /// `IPNAT_REQUIRE_NFT=1` so that a missing nft fails the run instead of skipping.
  public static let isAvailable: Bool = {
    let usable = FileManager.default.isExecutableFile(atPath: nftPath) && geteuid() == 0
      && FileManager.default.isExecutableFile(atPath: unsharePath)
    if !usable, ProcessInfo.processInfo.environment["IPNAT_REQUIRE_NFT"] != nil {
      fatalError("IPNAT_REQUIRE_NFT is set but nft (as root, with unshare) is not available")
    }
    return usable
  }()

  public static let nftPath = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  } ?? "/usr/sbin/nft"
  public static let unsharePath = "/usr/bin/unshare"

  public static func check(_ script: String) throws -> String? { try run(["-c", "-f", "-"], input: script) }

  /// `nft -j -c -f -`: the same check for a JSON document.
  public static func checkJSON(_ document: String) throws -> String? { try run(["-j", "-c", "-f", "-"], input: document) }

  private static func run(_ arguments: [String], input text: String) throws -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: unsharePath)
    process.arguments = ["--net", nftPath] + arguments
    let input = Pipe()
    let errors = Pipe()
    process.standardInput = input
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try input.fileHandleForWriting.close()
    let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return process.terminationStatus == 0 ? nil : errorText
  }
}
