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
  func readInput() throws -> SourceFile { try Self.read(input.file) }

  /// Reads a file, or standard input for `-`; on failure prints why and exits with status 1.
  static func read(_ path: String) throws -> SourceFile {
    do {
      return try InputReader.read(path)
    } catch {
      throw failure(FrontendDiagnostics.unreadable, "\(error)", status: ExitStatus.inputErrors)
    }
  }

  /// The nftables table for the input, after printing its diagnostics; throws exit status 1
  /// when any rule has an error.
  func lower(_ file: SourceFile, with flags: LoweringFlags) throws -> Table {
    let (table, diagnostics) = IPNat.lower(file, options: input.frontendOptions, lowering: flags.options)
    report(diagnostics, in: file)
    guard let table, !diagnostics.hasErrors else { throw ExitCode(ExitStatus.inputErrors) }
    return table
  }

  /// ``lower(_:with:)``, and what a load record keeps of the file (`IPNat.lowerRecordingSource`).
  func lowerRecordingSource(_ file: SourceFile, with flags: LoweringFlags, settings: String) throws -> (Table, CompiledSource?) {
    let (table, diagnostics, source) = IPNat.lowerRecordingSource(file, options: input.frontendOptions,
                                                                  lowering: flags.options, settings: settings)
    report(diagnostics, in: file)
    guard let table, !diagnostics.hasErrors else { throw ExitCode(ExitStatus.inputErrors) }
    return (table, source)
  }

  /// The input lowered two ways from one parse, so that its host names are looked up once,
  /// after printing the diagnostics as ``lower(_:with:)`` does for the first way; throws exit
  /// status 1 when any rule has an error.
  func lower(_ file: SourceFile, with flags: LoweringFlags, andWith otherFlags: LoweringFlags) throws -> (Table, Table) {
    let (tables, diagnostics) = IPNat.lower(file, options: input.frontendOptions, lowering: flags.options,
                                            andLowering: otherFlags.options)
    report(diagnostics, in: file)
    guard let tables, !diagnostics.hasErrors else { throw ExitCode(ExitStatus.inputErrors) }
    return tables
  }

  /// Prints `outcome`'s diagnostics, and its output to standard output or to the file at
  /// `path`; throws the exit status for errors.
  func finish(_ outcome: Outcome, file: SourceFile, writingTo path: String? = nil) throws {
    report(outcome.diagnostics, in: file)
    guard !outcome.hasErrors, let output = outcome.output else { throw ExitCode(ExitStatus.inputErrors) }
    guard let path, path != "-" else {
      FileOutput.standardOutput.write(output)
      return
    }
    do {
      try OutputFile.replace(path, with: output)
    } catch {
      throw Self.failure(FrontendDiagnostics.unwritable, "\(error)", status: ExitStatus.inputErrors)
    }
  }

  /// Renders diagnostics to standard error, then, if any is an error, how many there were.
  func report(_ diagnostics: [Diagnostic], in file: SourceFile) {
    Self.report(diagnostics, in: file, useColor: useColor)
  }

  static func report(_ diagnostics: [Diagnostic], in file: SourceFile, useColor: Bool) {
    FileOutput.standardError.write(DiagnosticRenderer(useColor: useColor).render(diagnostics, in: file))
    let count = diagnostics.count { $0.severity == .error }
    if count > 0 { FileOutput.standardError.write("\(count) error\(count == 1 ? "" : "s") in \(file.name)\n") }
  }

  /// Reports a failure that belongs to no place in a file, like every diagnostic, and gives the
  /// exit status to throw.
  static func failure(_ diagnostic: Diagnostic, status: Int32) -> ExitCode {
    report(diagnostic)
    return ExitCode(status)
  }

  static func failure(_ kind: DiagnosticKind, _ message: String, status: Int32) -> ExitCode {
    failure(Diagnostic(kind, message, at: nil), status: status)
  }

  /// A diagnostic that belongs to no file, as `ipnat: error: … [id]`.
  static func report(_ diagnostic: Diagnostic) {
    let renderer = DiagnosticRenderer(useColor: standardErrorIsColored)
    FileOutput.standardError.write(renderer.render(diagnostic, tool: "ipnat"))
  }

  /// Colour on a terminal unless NO_COLOR says otherwise (for messages before options apply).
  static var standardErrorIsColored: Bool {
    FileOutput.standardError.isTerminal && Environment.value(of: "NO_COLOR") == nil
  }

  private var useColor: Bool { input.color.isEnabled(for: .standardError) }
}

/// Unbuffered writes to standard output and standard error.
struct FileOutput {
  let descriptor: Int32

  static let standardOutput = FileOutput(descriptor: STDOUT_FILENO)
  static let standardError = FileOutput(descriptor: STDERR_FILENO)

  var isTerminal: Bool { isatty(descriptor) == 1 }

  /// A closed pipe (`ipnat print | head`) is not worth a crash: errors are ignored.
  func write(_ text: String) { _ = Self.writeAll(text, to: descriptor) }

  /// Writes all of `text`, from the string's own storage (a native string is contiguous UTF-8,
  /// so a ruleset of tens of megabytes is not copied first). Returns the errno of a failed
  /// write, or nil.
  static func writeAll(_ text: String, to descriptor: Int32) -> Int32? {
    var text = text
    return text.withUTF8 { buffer in
      var remaining = UnsafeRawBufferPointer(buffer)
      while !remaining.isEmpty {
        let written = Glibc.write(descriptor, remaining.baseAddress, remaining.count)
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return written < 0 ? errno : EIO }
        remaining = UnsafeRawBufferPointer(rebasing: remaining[written...])
      }
      return nil
    }
  }
}

enum Environment {
  static func value(of name: String) -> String? {
    getenv(name).map { String(cString: $0) }
  }

  /// Where `load --confirm` leaves its marker for `ipnat confirm`, and `load` its record of
  /// what it loaded (`IPNAT_RUN_DIRECTORY`, for tests).
  static var runDirectory: String { value(of: "IPNAT_RUN_DIRECTORY") ?? "/run/ipnat" }

}

/// Writes a whole file or nothing: the text goes to a temporary file beside it, which is then
/// renamed over the target, so a reader (or `nft -f`) never sees half a ruleset.
enum OutputFile {
  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  static func replace(_ path: String, with text: String) throws {
    let temporary = path + ".ipnat-\(getpid()).tmp"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw Failure(description: "cannot write \(path): \(String(cString: strerror(errno)))") }
    if let error = FileOutput.writeAll(text, to: descriptor) {
      close(descriptor)
      unlink(temporary)
      throw Failure(description: "cannot write \(path): \(String(cString: strerror(error)))")
    }
    guard fsync(descriptor) == 0, close(descriptor) == 0, rename(temporary, path) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(temporary)
      throw Failure(description: "cannot write \(path): \(reason)")
    }
  }
}
