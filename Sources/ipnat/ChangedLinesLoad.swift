// Only with the Kernel trait (the default): a build without it has no libnftnl or libmnl.
#if Kernel
import IPNatDiagnostics
import IPNatKit
import IPNatNetlink
import NFTKernel

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// `load` of a file that differs from the loaded one in a few lines edited in place: those
/// lines are compiled alone, before and after, and only their elements change in the maps
/// their rules were folded into (`IPNat.lowerAlone`, `LoadRecord.patching`). A port forward
/// moved to another server, in a file of 100,000 rules, is sent without compiling the file.
enum ChangedLinesLoad {
  /// The update made, or nil, with nothing sent, where the whole file must be compiled: no
  /// record of the last load that the kernel's state bears out, or no patch of it
  /// (`IPNat.patch`).
  static func load(_ file: SourceFile, options: FrontendOptions, lowering: LoweringOptions, settings: String,
                   into ruleset: KernelRuleset) throws(NetlinkError) -> TableUpdate? {
    let generation = try ruleset.generation()
    guard let record = ruleset.loadRecord(ofTable: lowering.tableName, generation: generation),
      let patched = IPNat.patch(record, toCompile: file, options: options, lowering: lowering, settings: settings)
    else { return nil }
    try ruleset.change(patched.update.elementChanges, keeping: patched.record, generation: generation)
    return patched.update
  }

  /// Everything besides the file that compiling it depends on, as one text
  /// (`CompiledSource.settings`): the options, the variables given outside the file, and this
  /// very binary, since another build may compile differently.
  static func settings(reading: ReadingOptions, lowering: LoweringFlags) -> String {
    var status = stat()
    let binary = stat("/proc/self/exe", &status) == 0
      ? "\(status.st_dev) \(status.st_ino) \(status.st_size) \(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec)" : "unknown"
    let parts = [
      "ipnat \(Version.text) \(binary)",
      "table \(lowering.table)", "interface-map \(lowering.interfaceMap.joined(separator: " "))",
      "reflection \(lowering.reflection)", "fold \(lowering.noFold ? "no" : String(lowering.foldThreshold))",
      "resolve \(!reading.noResolve)", "D \(reading.definitions.joined(separator: "\u{0}"))",
      "IPNAT_PREDEFINED \(Environment.value(of: "IPNAT_PREDEFINED") ?? "")", "max-rules \(reading.maximumRules)",
    ]
    return parts.joined(separator: "\n")
  }
}
#endif
