import IPNatFuzzing

// Built two ways. For fuzzing (see README, "Fuzzing"): with `--sanitize fuzzer` and
// `-DFUZZING`, libFuzzer supplies `main` and calls the entry point below. Otherwise, as part of
// the ordinary build, this is a replayer: it runs the harness on the files it is given, which
// is how a crash file the fuzzer wrote is reproduced under a debugger.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  FuzzHarness.exercise(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
  return 0
}

#if !FUZZING
  import IPNatKit

  @main
  enum Replay {
    static func main() {
      let paths = CommandLine.arguments.dropFirst()
      guard !paths.isEmpty else {
        print("usage: ipnat-fuzz FILE…  (replays inputs through the fuzz harness)")
        return
      }
      for path in paths {
        do {
          FuzzHarness.exercise(try InputReader.read(path).bytes)
          print("ok \(path)")
        } catch {
          print("ipnat-fuzz: \(error)")
        }
      }
    }
  }
#endif
