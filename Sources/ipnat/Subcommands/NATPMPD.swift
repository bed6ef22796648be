import ArgumentParser
import IPNatDiagnostics
import IPNatKit
import NATPMP

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

#if Kernel
  import NATPMPDaemon
#endif

extension IPNatCommand {
  /// `ipnat natpmpd`: OpenBSD's natpmpd(8), on nftables.
  struct NATPMPD: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "natpmpd",
      _superCommandName: "ipnat",
      abstract: "Run a NAT-PMP, PCP and UPnP IGD server that maps ports on request, as OpenBSD's natpmpd and miniupnpd do.",
      discussion: """
        Clients on the internal networks (Apple devices, BitTorrent and VoIP clients) ask for \
        port mappings on UDP 5351 of the 'listen on' addresses. Each mapping is an element of \
        two maps in the daemon's own table, inet \(KernelLayout.tableName), with a kernel \
        timeout: in, the external port goes to the client; out, the client's port leaves from \
        the external port. Mappings expire even if the daemon dies, and a restart takes over \
        those the kernel still holds. Its chains run just after ipnat's compiled rules on the \
        way in (static rdr rules win) and just before them on the way out. The external address is taken from the 'interface' and \
        followed as it changes, and announced to 224.0.0.1:5350.

        natpmpd.conf, as OpenBSD's:
          interface wan0            # the external interface
          listen on 10.0.0.1        # one line per internal network
        and ipnat's own settings, shown with their defaults:
          external ports 49152-65535
          internal ports 1-65535
          mappings per client 128
          pcp on                    # PCP (RFC 6887) beside NAT-PMP
          upnp off                  # UPnP IGD on the listen networks
          lifetimes 120-86400       # seconds granted
        and, none by default: 'third party NETWORK' (PCP THIRD_PARTY within NETWORK) and \
        'allow|deny EXTERNAL-PORTS NETWORK INTERNAL-PORTS' (miniupnpd's permission rules).

        On SIGTERM or SIGINT the daemon removes its table, and so every mapping, and exits; on \
        SIGHUP it reads its configuration again and keeps the mappings that still fit it. \
        'ipnat natpmpd -l [--format json]' prints the mappings in force. Once its sockets are open it keeps only CAP_NET_ADMIN. Exit status: 0 after a \
        signal or a clean -n, 1 for a configuration error, 3 when the kernel refused the table, \
        4 without CAP_NET_ADMIN.
        """,
      shouldDisplay: isAvailable)

    #if Kernel
      static let isAvailable = true
    #else
      /// Without the Kernel trait only -n works, so the command stays out of the help.
      static let isAvailable = false
    #endif

    @Flag(name: .customShort("d"), help: "Stay in the foreground and log to standard error (else: background, syslog).")
    var foreground = false

    @Flag(name: .customShort("n"), help: "Check the configuration, print 'configuration ok' and exit.")
    var checkOnly = false

    @Flag(name: .customShort("v"), help: "Log every request.")
    var verbose = false

    @Option(name: .customShort("f"), help: ArgumentHelp("The configuration file, or '-' for standard input.", valueName: "file"))
    var file: String = DaemonConfiguration.defaultPath

    @Flag(name: [.customShort("l"), .customLong("list")],
          help: "Print the mappings in force, read from the kernel (protocol, ports, client, time left, who asked), and exit.")
    var list = false

    @Option(help: ArgumentHelp("With -l: 'text' (a table) or 'json' (one array).", valueName: "format"))
    var format: ListFormat = .text

    func run() throws {
      if list { return try printMappings() }
      let configuration = try readConfiguration()
      if checkOnly {
        FileOutput.standardError.write("configuration ok\n")
        return
      }
      #if Kernel
        let log = Log(foreground: foreground, verbose: verbose)
        do {
          try Daemon(configuration: configuration, log: log).run(detach: foreground ? {} : Self.detach) {
            rereadConfiguration(log: log)
          }
        } catch let failure as Daemon.Failure {
          if !foreground { log.error("\(failure)") }
          throw Frontend.failure(NATPMPDiagnostics.daemonFailure, "\(failure)", status: failure.status)
        }
      #else
        throw ValidationError(
          "'ipnat natpmpd' changes the kernel's rules, and this ipnat was built without kernel support (the Kernel trait)")
      #endif
    }

    #if Kernel
      /// The configuration again, on SIGHUP; its errors go to the daemon's log, and nil keeps the
      /// one in force.
      private func rereadConfiguration(log: Log) -> DaemonConfiguration? {
        guard file != "-" else {
          log.warning("SIGHUP: the configuration came from standard input and cannot be read again")
          return nil
        }
        guard let source = try? InputReader.read(file) else {
          log.error("SIGHUP: cannot read \(file); the configuration in force stays")
          return nil
        }
        let result = ConfigurationParser.parse(source)
        guard let configuration = result.configuration else {
          log.error("SIGHUP: \(file) has errors; the configuration in force stays\n"
                      + DiagnosticRenderer().render(result.diagnostics, in: source))
          return nil
        }
        return configuration
      }
    #endif

    private func readConfiguration() throws -> DaemonConfiguration {
      let source = try Frontend.read(file)
      let result = ConfigurationParser.parse(source)
      Frontend.report(result.diagnostics, in: source, useColor: Frontend.standardErrorIsColored)
      guard let configuration = result.configuration else { throw ExitCode(ExitStatus.inputErrors) }
      return configuration
    }

    #if Kernel
      /// Into the background, as daemon(3) does: the parent exits, the child leaves the
      /// terminal's session and the working directory, with standard streams on /dev/null.
      private static func detach() throws {
        switch fork() {
        case -1:
          throw Daemon.Failure(description: "cannot fork: \(String(cString: strerror(errno)))", status: 3)
        case 0:
          _ = setsid()
          _ = chdir("/")
          let null = open("/dev/null", O_RDWR)
          if null >= 0 {
            for stream in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] { dup2(null, stream) }
            if null > STDERR_FILENO { close(null) }
          }
        default:
          Glibc.exit(0)
        }
      }
    #endif
  }
}
