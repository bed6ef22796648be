import ArgumentParser
import IPNatDiagnostics
import IPNatKit

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// What every subcommand does around the pipeline: read the input, print diagnostics to
/// standard error, write output only when there was no error, and pick the exit status.
struct Frontend {
  let input: InputOptions

  /// Reads the input; on failure prints why and exits with status 1.
  func readInput() throws -> SourceFile {
    do {
      return try InputReader.read(input.file)
    } catch {
      FileOutput.standardError.write("ipnat: error: \(error)\n")
      throw ExitCode(ExitStatus.inputErrors)
    }
  }

  /// Prints `outcome`'s diagnostics and output; throws the exit status for errors.
  func finish(_ outcome: Outcome, file: SourceFile) throws {
    let renderer = DiagnosticRenderer(useColor: useColor)
    FileOutput.standardError.write(renderer.render(outcome.diagnostics, in: file))
    guard !outcome.hasErrors, let output = outcome.output else {
      let count = outcome.diagnostics.count { $0.severity == .error }
      FileOutput.standardError.write("\(count) error\(count == 1 ? "" : "s") in \(file.name)\n")
      throw ExitCode(ExitStatus.inputErrors)
    }
    FileOutput.standardOutput.write(output)
  }

  private var useColor: Bool {
    switch input.color {
    case .always: true
    case .never: false
    case .auto: isatty(STDERR_FILENO) == 1 && Environment.value(of: "NO_COLOR") == nil
    }
  }
}

/// Unbuffered writes to standard output and standard error.
struct FileOutput {
  let descriptor: Int32

  static let standardOutput = FileOutput(descriptor: STDOUT_FILENO)
  static let standardError = FileOutput(descriptor: STDERR_FILENO)

  func write(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
      let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
      if written < 0 {
        if errno == EINTR { continue }
        return  // A closed pipe (`ipnat print | head`) is not worth a crash.
      }
      bytes = bytes.dropFirst(written)
    }
  }
}

enum Environment {
  static func value(of name: String) -> String? {
    getenv(name).map { String(cString: $0) }
  }
}
