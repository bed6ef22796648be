#if canImport(Glibc)
  import Glibc
#endif

/// How the C library's allocator is set up for ipnat's one large job.
enum MemoryTuning {
  /// Makes blocks of 128 KiB and more come straight from mmap and go straight back, as glibc
  /// does at first. glibc otherwise raises that threshold each time it frees a block it had
  /// mmapped, up to 32 MiB, and then serves the large arrays of a big compile from the heap,
  /// where the holes they leave stay resident. Measured on 100,000 rules, with rules printed as
  /// bytes (2026-12-06): compile's peak 89.9 MiB without the fixed threshold, 84.2 with it (84.1
  /// before the change); load's 92.3 against 83.8 MiB.
  static func fixMmapThreshold() {
    #if canImport(Glibc)
      // Swift's Glibc module leaves out malloc.h, where `mallopt` is declared.
      guard let symbol = dlsym(nil, "mallopt") else { return }
      let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
      _ = mallopt(mmapThresholdOption, 128 * 1024)
    #endif
  }

  /// `M_MMAP_THRESHOLD` in glibc's malloc.h. Setting it also turns off the raising.
  private static let mmapThresholdOption: Int32 = -3
}
