import Glibc
import IPNatFuzzing

// Built two ways. For fuzzing (`.ci/fuzz`): with libFuzzer and `-DFUZZING`, libFuzzer supplies
// `main` and calls the entry point below. Otherwise, as part of
// the ordinary build, this is a replayer: it runs the harness on the files it is given, which
// is how a crash file the fuzzer wrote is reproduced under a debugger.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
  selectedTarget.exercise(bytes)
  return 0
}

/// `IPNAT_FUZZ_TARGET` (a `FuzzTarget`), read once; every stage without it.
let selectedTarget: FuzzTarget = {
  guard let name = getenv("IPNAT_FUZZ_TARGET").map({ String(cString: $0) }) else { return .all }
  guard let target = FuzzTarget(rawValue: name) else {
    fatalError("IPNAT_FUZZ_TARGET=\(name): expected one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
  }
  return target
}()

#if !FUZZING
  import Glibc
  import IPNatKit

  @main
  enum Replay {
    static func main() {
      let paths = CommandLine.arguments.dropFirst()
      guard !paths.isEmpty else {
        complain("usage: ipnat-fuzz FILE…  (replays inputs through the fuzz harness)")
        exit(2)
      }
      var unreadable = false
      for path in paths {
        do {
          let bytes = try InputReader.read(path).bytes
          selectedTarget.exercise(bytes)
          print("ok \(path)")
        } catch {
          complain("ipnat-fuzz: \(error)")
          unreadable = true
        }
      }
      exit(unreadable ? 1 : 0)
    }

    static func complain(_ message: String) {
      let line = Array((message + "\n").utf8)
      _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
  }
#endif
