import IPAddressing
import IPNatDiagnostics
import NATPMP
import TestSupport
import Testing

@Suite struct ConfigurationTests {
  static let folder = TestSupport.directory() + "/Configurations"
  static let cases = files(in: folder, endingWith: ".conf").map { String($0.dropLast(5)) }

  @Test func readsOpenBSDsExampleAndIpnatsSettings() throws {
    let text = """
      # natpmpd.conf(5)
      interface carp0
      listen on 10.0.0.1   # the internal network
      \tlisten on 192.168.1.1

      external ports 20000-20999
      internal ports 1024-65535
      mappings per client 16
      pcp off
      lifetimes 300-7200
      third party 192.168.1.0/24
      allow 3074 192.168.1.0/24 3074
      deny 0-65535 0.0.0.0/0 0-65535
      """
    let result = ConfigurationParser.parse(SourceFile(name: "natpmpd.conf", text: text))
    #expect(result.diagnostics.isEmpty)
    var expected = DaemonConfiguration(
      externalInterface: "carp0", listenAddresses: [0x0A00_0001, 0xC0A8_0101], externalPorts: 20000...20999,
      internalPorts: 1024...65535, mappingsPerClient: 16)
    expected.pcp = false
    expected.lifetimes = 300...7200
    expected.thirdPartyNetworks = [AddressPrefix(.ipv4(0xC0A8_0100), length: 24)]
    expected.permissions = [
      PermissionRule(allows: true, externalPorts: 3074...3074, network: AddressPrefix(.ipv4(0xC0A8_0100), length: 24),
                     internalPorts: 3074...3074),
      PermissionRule(allows: false, externalPorts: 0...65535, network: AddressPrefix(.ipv4(0), length: 0),
                     internalPorts: 0...65535),
    ]
    #expect(result.configuration == expected)
    #expect(expected.mayMap(for: 0xC0A8_0107, askedBy: 0xC0A8_0102) && !expected.mayMap(for: 0x0A00_0007, askedBy: 0x0A00_0002))
  }

  @Test func defaultsMatchOpenBSDsNatpmpd() throws {
    let result = ConfigurationParser.parse(SourceFile(name: "natpmpd.conf", text: "interface em0\r\nlisten on 10.0.0.1\r\n"))
    let configuration = try #require(result.configuration)
    #expect(configuration.externalPorts == 49152...65535)
    #expect(configuration.internalPorts == 1...65535)
    #expect(configuration.mappingsPerClient == 128)
    #expect(configuration.pcp && configuration.lifetimes == 120...86_400 && configuration.thirdPartyNetworks.isEmpty)
  }

  @Test func thereAreCases() { #expect(Self.cases.count >= 7) }

  /// Each bad file's diagnostics, rendered as users see them, equal `NAME.diag`
  /// (`RECORD_GOLDEN=1 swift test` rewrites them).
  @Test(arguments: cases)
  func reportsErrorsAsRecorded(_ name: String) throws {
    let text = try #require(readFile("\(Self.folder)/\(name).conf"))
    let file = SourceFile(name: "\(name).conf", text: text)
    let result = ConfigurationParser.parse(file)
    #expect(result.configuration == nil)
    let rendered = DiagnosticRenderer().render(result.diagnostics, in: file)
    let golden = try #require(Golden.recorded(at: "\(Self.folder)/\(name).diag", actual: rendered),
                              "missing \(name).diag: run with RECORD_GOLDEN=1")
    #expect(rendered == golden)
  }
}

@Suite struct SampleConfigurationTests {
  @Test func theSampleReadsCleanly() throws {
    let path = TestSupport.directory() + "/../../Samples/natpmpd/natpmpd.conf"
    let result = ConfigurationParser.parse(SourceFile(name: "natpmpd.conf", text: try #require(readFile(path))))
    #expect(result.diagnostics.isEmpty)
    #expect(result.configuration?.listenAddresses.count == 2)
  }
}
