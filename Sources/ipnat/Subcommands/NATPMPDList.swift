import ArgumentParser
import IPAddressing
import IPNatKit
import JSONText
import NATPMP

#if Kernel
  import NATPMPDaemon
#endif

extension IPNatCommand.NATPMPD {
  enum ListFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
  }

  /// `-l`: the mappings the kernel holds, as a table or as JSON.
  func printMappings() throws {
    #if Kernel
      let entries: [MappingsInForce.Entry]
      do {
        guard let read = try MappingsInForce.read() else {
          throw Frontend.failure(NATPMPDiagnostics.daemonFailure,
                                 "no table inet \(KernelLayout.tableName): natpmpd is not running", status: 1)
        }
        entries = read
      } catch let failure as Daemon.Failure {
        throw Frontend.failure(NATPMPDiagnostics.daemonFailure, "\(failure)", status: failure.status)
      }
      FileOutput.standardOutput.write(format == .json ? Self.json(entries) : Self.table(entries))
    #else
      throw ValidationError("'ipnat natpmpd -l' reads the kernel's rules, and this ipnat was built without kernel support")
    #endif
  }

  #if Kernel
    static func table(_ entries: [MappingsInForce.Entry]) -> String {
      let header = ["PROTO", "EXTERNAL", "CLIENT", "LEFT", "BY", "FILTERS", "DESCRIPTION"]
      let rows = entries.map { entry in
        [entry.mapping.transport.description, String(entry.mapping.externalPort),
         "\(IPAddress.formatIPv4(entry.mapping.client)):\(entry.mapping.internalPort)", duration(entry.secondsLeft),
         entry.origin?.rawValue ?? "-", entry.mapping.filters.isEmpty ? "-" : entry.mapping.filters.map(filter).joined(separator: ","),
         entry.description]
      }
      let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
      return ([header] + rows).map { row in
        zip(row, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  ")
          .replacing(/\s+$/, with: "")
      }.joined(separator: "\n") + "\n"
    }

    static func json(_ entries: [MappingsInForce.Entry]) -> String {
      JSONValue.array(entries.map { entry in
        .object([
          ("protocol", .string(entry.mapping.transport.description.lowercased())),
          ("externalPort", .integer(entry.mapping.externalPort)),
          ("client", .string(IPAddress.formatIPv4(entry.mapping.client))),
          ("internalPort", .integer(entry.mapping.internalPort)),
          ("secondsLeft", .integer(entry.secondsLeft)),
          ("by", entry.origin.map { .string($0.rawValue) } ?? .null),
          ("description", .string(entry.description)),
          ("filters", .array(entry.mapping.filters.map { .string(filter($0)) })),
        ])
      }).serialized + "\n"
    }

    /// `198.51.100.0/24` or `203.0.113.7/32:4000`.
    static func filter(_ filter: PeerFilter) -> String {
      "\(IPAddress.formatIPv4(filter.network))/\(filter.prefixLength)" + (filter.port.map { ":\($0)" } ?? "")
    }

    /// `1h02m03s`, `9m58s`, `42s`.
    static func duration(_ seconds: UInt64) -> String {
      let (hours, minutes, rest) = (seconds / 3600, seconds / 60 % 60, seconds % 60)
      func twoDigits(_ value: UInt64) -> String { value < 10 ? "0\(value)" : "\(value)" }
      if hours > 0 { return "\(hours)h\(twoDigits(minutes))m\(twoDigits(rest))s" }
      return minutes > 0 ? "\(minutes)m\(twoDigits(rest))s" : "\(rest)s"
    }
  #endif
}
