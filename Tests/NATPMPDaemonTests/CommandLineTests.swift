import Foundation
import TestSupport
import Testing

/// `ipnat natpmpd`'s command line: configuration checks, usage errors and what stops it from
/// starting, each with its exit status.
@Suite struct NATPMPDCommandLineTests {
  static let sample = TestSupport.directory() + "/../../Samples/natpmpd/natpmpd.conf"

  @Test func checksTheSampleAndSaysSo() throws {
    let result = try Shell.run(Shell.ipnatPath, ["natpmpd", "-n", "-f", Self.sample])
    #expect(result.status == 0)
    #expect(result.standardError == "configuration ok\n")
  }

  @Test func reportsConfigurationErrorsWhereTheyAre() throws {
    let result = try Shell.run(Shell.ipnatPath, ["natpmpd", "-n", "-f", "-"], input: "interface wan0\nlisten on 10.0.0.300\n")
    #expect(result.status == 1)
    #expect(result.standardError.hasPrefix("<stdin>:2:11: error: '10.0.0.300' is not an IPv4 address"), "\(result.standardError)")
    #expect(result.standardError.hasSuffix("1 error in <stdin>\n"))
  }

  @Test func takesOpenBSDsFlagsTogether() throws {
    let result = try Shell.run(Shell.ipnatPath, ["natpmpd", "-vn", "-f", Self.sample])
    #expect(result.status == 0)
  }

  @Test func refusesUnknownFlagsAndAMissingFile() throws {
    #expect(try Shell.run(Shell.ipnatPath, ["natpmpd", "-x"]).status == 2)
    let missing = try Shell.run(Shell.ipnatPath, ["natpmpd", "-n", "-f", "/nonexistent/natpmpd.conf"])
    #expect(missing.status == 1 && missing.standardError.contains("cannot open '/nonexistent/natpmpd.conf'"))
  }

  @Test func refusesAListenAddressNoInterfaceHas() throws {
    let result = try Shell.run(Shell.ipnatPath, ["natpmpd", "-d", "-f", "-"], input: "interface wan0\nlisten on 10.254.253.1\n")
    #expect(result.status == 1)
    #expect(result.standardError.contains("cannot listen on 10.254.253.1: no interface has this address"))
  }

  @Test(.enabled(if: NFTCheck.isAvailable && geteuid() == 0, "needs root and unshare"))
  func withoutCAPNetAdminItExits4() throws {
    let result = try Shell.inNamespace("""
      ip link add d0 type veth peer name d1 && ip addr add 10.9.0.1/24 dev d0 && ip link set d0 up || exit 99
      printf 'interface lo\\nlisten on 10.9.0.1\\n' > natpmpd.conf
      setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \\
        "$IPNAT" natpmpd -d -f - < natpmpd.conf
      """, timeout: 20)
    #expect(result.status == 4, "\(result.standardError)")
    #expect(result.standardError.contains("CAP_NET_ADMIN"))
  }
}
