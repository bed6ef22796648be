#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The programs the benchmarks run: `ipnat` from the same build as this benchmark, and the
/// system's nft, ip and unshare.
struct Tools {
  let ipnat: String
  let bench: String
  let nft: String
  let ip: String
  let unshare: String

  static func locate() throws -> Tools {
    let bench = CommandLine.arguments[0]
    let directory = bench.contains("/") ? String(bench[..<bench.lastIndex(of: "/")!]) : "."
    func find(_ name: String) throws -> String {
      for folder in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] where access("\(folder)/\(name)", X_OK) == 0 {
        return "\(folder)/\(name)"
      }
      throw BenchError("\(name) not found in /usr/sbin, /sbin, /usr/bin or /bin")
    }
    let ipnat = "\(directory)/ipnat"
    guard access(ipnat, X_OK) == 0 else { throw BenchError("\(ipnat) not found: build with 'swift build -c release'") }
    return Tools(ipnat: ipnat, bench: bench, nft: try find("nft"), ip: try find("ip"), unshare: try find("unshare"))
  }

  func requireRoot() throws {
    guard geteuid() == 0 else { throw BenchError("this benchmark needs root (network namespaces, nft)") }
  }
}

struct BenchError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// Wall time and peak resident memory of one child process.
struct Measurement {
  var seconds: Double
  var peakBytes: Int
  var status: Int32
  var output: String

  var megabytes: Double { Double(peakBytes) / 1_048_576 }
}

func now() -> Double {
  var time = timespec()
  clock_gettime(CLOCK_MONOTONIC, &time)
  return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Runs a program to completion, standard output to a file the result carries (or to
/// /dev/null), standard error inherited.
@discardableResult
func measureProcess(_ arguments: [String], keepOutput: Bool = false) throws -> Measurement {
  let outputPath = keepOutput ? temporaryPath("out") : "/dev/null"
  defer { if keepOutput { removeFile(outputPath) } }
  let start = now()
  let pid = try spawnProcess(arguments, standardOutput: outputPath)
  var status: Int32 = 0
  var usage = rusage()
  wait4(pid, &status, 0, &usage)
  let elapsed = now() - start
  let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
  return Measurement(seconds: elapsed, peakBytes: Int(usage.ru_maxrss) * 1024, status: exitStatus,
                     output: keepOutput ? readTextFile(outputPath) ?? "" : "")
}

/// Starts a program, standard output to `standardOutput` (created or truncated), standard
/// error inherited; the caller waits for it.
func spawnProcess(_ arguments: [String], standardOutput: String = "/dev/null") throws -> pid_t {
  var fileActions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&fileActions)
  defer { posix_spawn_file_actions_destroy(&fileActions) }
  posix_spawn_file_actions_addopen(&fileActions, 1, standardOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
  let argv = arguments.map { strdup($0) } + [nil]
  defer { argv.forEach { free($0) } }
  var pid: pid_t = 0
  guard posix_spawn(&pid, arguments[0], &fileActions, nil, argv, environ) == 0 else {
    throw BenchError("cannot start \(arguments[0])")
  }
  return pid
}

/// Runs a program that must succeed; returns its standard output.
@discardableResult
func capture(_ arguments: [String]) throws -> String {
  let result = try measureProcess(arguments, keepOutput: true)
  guard result.status == 0 else {
    throw BenchError("\(arguments.joined(separator: " ")) exited with status \(result.status)")
  }
  return result.output
}

nonisolated(unsafe) private var temporaryCount = 0

/// A fresh path under /tmp, unique to this process.
func temporaryPath(_ suffix: String) -> String {
  temporaryCount += 1
  return "/tmp/ipnat-bench-\(getpid())-\(temporaryCount).\(suffix)"
}

func removeFile(_ path: String) { unlink(path) }

func writeTextFile(_ path: String, _ text: String) throws {
  guard let file = fopen(path, "w") else { throw BenchError("cannot write \(path)") }
  defer { fclose(file) }
  fputs(text, file)
}

func readTextFile(_ path: String) -> String? {
  guard let file = fopen(path, "r") else { return nil }
  defer { fclose(file) }
  var bytes: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 65536)
  while true {
    let count = fread(&buffer, 1, buffer.count, file)
    if count <= 0 { break }
    bytes += buffer[0..<count]
  }
  return String(decoding: bytes, as: UTF8.self)
}

/// Peak resident set size of this process (`VmHWM` in /proc/self/status).
func peakResidentBytes() -> Int {
  let status = readTextFile("/proc/self/status") ?? ""
  guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
  return (Int(line.filter(\.isNumber)) ?? 0) * 1024
}

/// Where the `ipnat load`s of a benchmark keep their load records (`IPNAT_RUN_DIRECTORY`, which
/// every program the benchmark starts inherits): a directory of its own, emptied before each
/// load (``empty()``) and removed at the end. Each load then starts as into an empty namespace,
/// reading no record an earlier run left, and none is left in /run/ipnat, which is the host's.
struct RunDirectory: ~Copyable {
  let path: String

  init() throws {
    path = temporaryPath("run")
    guard mkdir(path, 0o700) == 0 else { throw BenchError("cannot make \(path)") }
    setenv("IPNAT_RUN_DIRECTORY", path, 1)
  }

  /// Removes the records the last load left.
  func empty() {
    guard let directory = opendir(path) else { return }
    defer { closedir(directory) }
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      if name != ".", name != ".." { unlink("\(path)/\(name)") }
    }
  }

  deinit {
    empty()
    rmdir(path)
    unsetenv("IPNAT_RUN_DIRECTORY")
  }
}
