import CNftables
import Glibc

/// Giving up privileges a daemon no longer needs once its sockets are open.
public enum Privileges {
  /// `CAP_NET_ADMIN`: what changing nf_tables needs.
  static let networkAdministration: UInt32 = 12

  /// Leaves the calling thread with CAP_NET_ADMIN alone (if it had it): permitted, effective,
  /// bounding and ambient sets; no inheritable ones; and no way back (`no_new_privs`, so no
  /// set-uid or file capability can restore any).
  ///
  /// Capabilities belong to threads, not processes: every thread that exists must call this,
  /// and threads started later inherit what their creator has.
  public static func keepOnlyNetworkAdministration() throws(NetlinkError) {
    guard ipnat_prctl(PR_SET_NO_NEW_PRIVS, 1) == 0 else { throw .system("set no_new_privs", errno) }
    _ = ipnat_prctl(PR_CAP_AMBIENT, UInt(PR_CAP_AMBIENT_CLEAR_ALL))
    // Dropping from the bounding set needs CAP_SETPCAP; a process started without it (under
    // systemd with only CAP_NET_ADMIN, say) has nothing there to drop that it could use.
    for capability in 0...lastCapability() where capability != networkAdministration {
      if ipnat_prctl(PR_CAPBSET_DROP, UInt(capability)) != 0 && errno == EPERM { break }
    }
    let kept: UInt32 = 1 << networkAdministration
    if ipnat_capset(kept, kept, 0) == 0 { return }
    // Without CAP_NET_ADMIN to begin with, keep nothing.
    guard ipnat_capset(0, 0, 0) == 0 else { throw .system("drop capabilities", errno) }
  }

  /// The highest capability number this kernel knows.
  private static func lastCapability() -> UInt32 {
    guard let file = fopen("/proc/sys/kernel/cap_last_cap", "r") else { return 40 }
    defer { fclose(file) }
    var buffer = [UInt8](repeating: 0, count: 16)
    let count = fread(&buffer, 1, buffer.count, file)
    let text = String(decoding: buffer.prefix(count), as: UTF8.self)
    return text.split(whereSeparator: \.isWhitespace).first.flatMap { UInt32($0) } ?? 40
  }
}
