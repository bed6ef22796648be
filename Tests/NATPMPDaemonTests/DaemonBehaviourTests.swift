import Foundation
import TestSupport
import Testing

/// What natpmpd does besides answering natpmpc: the protocol's error answers, hostile
/// datagrams, address announcements and changes, privileges and shutdown.
@Suite(.serialized, .enabled(if: DaemonLab.isAvailable, "needs root, ip, nft, python3 and natpmpc"))
struct DaemonBehaviourTests {
  @Test func answersErrorsAndSurvivesMalformedDatagrams() throws {
    try DaemonLab.with { daemon in
      let replies = try daemon.send([
        "01",  // too short: dropped
        "0100",  // version 1: result 1
        "0007aabb",  // opcode 7: echoed with result 5
        "0001000013",  // a mapping request cut short: dropped
        "0081000000000000",  // a response: dropped
        "000200000050000000000e10",  // TCP port 80 ... allowed by default
      ])
      #expect(replies[0] == "timeout" && replies[3] == "timeout" && replies[4] == "timeout")
      #expect(replies[1].hasPrefix("00800001"))
      #expect(replies[2].hasPrefix("00870005"))
      #expect(replies[5].hasPrefix("00820000"))

      _ = try daemon.lab.probe(daemon.lab.inside, ["natpmp-noise", "10.0.0.1", "--count", "3000", "--seed", "11"])
      #expect(daemon.process.isRunning)
      #expect(try daemon.send(["0000"]).first?.hasSuffix("c0000201") == true, "still answering after the noise")
      // Whatever the noise mapped points at the sender itself.
      for element in daemon.elements { #expect(element.contains(": 10.0.0.2 . "), "\(element)") }
    }
  }

  @Test func announcesTheAddressAndFollowsItsChanges() throws {
    try withLab { lab in
      try lab.start(lab.inside, ["listen-multicast", "224.0.0.1", "5350", lab.logPath("announcements"),
                                 "--interface-address", "10.0.0.2", "--seconds", "12"])
      lab.waitForLog("announcements")
      let daemon = try DaemonLab(lab: lab)
      try waitUntil("three announcements") { announcements(lab).count >= 3 }
      #expect(Set(announcements(lab).map(\.address)) == ["c0000201"])

      // The address goes away: no more rule, requests fail, and 0.0.0.0 is never announced.
      _ = try lab.run(lab.router, ["ip", "addr", "del", "192.0.2.1/24", "dev", "rwan"])
      try waitUntil("the rule is gone") { !daemon.table.contains("dnat") }
      let failure = try #require(try daemon.send(["0000"]).first)
      #expect(failure.hasPrefix("00800003") && failure.hasSuffix("00000000"), "network failure, address 0.0.0.0: \(failure)")

      // A new address: the table follows, and it is announced.
      let before = announcements(lab).count
      _ = try lab.run(lab.router, ["ip", "addr", "add", "192.0.2.9/24", "dev", "rwan"])
      try waitUntil("the rule follows") { daemon.table.contains("ip daddr 192.0.2.9") }
      try waitUntil("the new address is announced") { announcements(lab).dropFirst(before).contains { $0.address == "c0000209" } }
      #expect(!announcements(lab).contains { $0.address == "00000000" })
      #expect(try daemon.send(["0000"]).first?.hasSuffix("c0000209") == true)
    }
  }

  /// `time sender hex` lines of the multicast listener, as (opcode and result, address).
  private func announcements(_ lab: Lab) -> [(header: String, address: String)] {
    lab.log("announcements").dropFirst().compactMap { line in
      let hex = line.split(separator: " ").last.map(String.init) ?? ""
      guard hex.count == 24 else { return nil }
      return (String(hex.prefix(8)), String(hex.suffix(8)))
    }
  }

  @Test func keepsOnlyCAPNetAdminInEveryThread() throws {
    try DaemonLab.with { daemon in
      let pid = try #require(daemon.daemonPID)
      let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
      #expect(tasks.count >= 2)
      for task in tasks {
        let status = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
        for key in ["CapPrm", "CapEff", "CapBnd"] {
          #expect(status.contains("\(key):\t0000000000001000"), "thread \(task) \(key)")
        }
        #expect(status.contains("CapInh:\t0000000000000000") && status.contains("NoNewPrivs:\t1"))
      }
      // And with that alone it still maps.
      _ = try daemon.map("udp", internalPort: 5000, lifetime: 60)
    }
  }

  /// SIGTERM and SIGINT end the daemon with its mappings; SIGHUP reloads (`LiveTrafficTests`).
  @Test func removesItsTableOnEachTerminationSignal() throws {
    try DaemonLab.with { daemon in
      for signal in [SIGTERM, SIGINT] {
        _ = try daemon.map("tcp", internalPort: 5000, lifetime: 600)
        try daemon.stop(with: signal)
        #expect(daemon.process.terminationStatus == 0, "signal \(signal)")
        #expect(daemon.table.isEmpty, "signal \(signal)")
        try daemon.restart()
      }
      #expect(daemon.log.contains { $0.contains("removing all mappings") })
    }
  }
}

@Suite(.serialized, .enabled(if: DaemonLab.isAvailable, "needs root, ip, nft, python3 and natpmpc"))
struct BackgroundDaemonTests {
  /// Without -d, as OpenBSD's natpmpd: the command returns once the daemon is set up, and the
  /// daemon serves on in the background until a signal.
  @Test func withoutDashDItDetachesAndServes() throws {
    try withLab { lab in
      writeFile(lab.logPath("natpmpd.conf"), "interface rwan\nlisten on 10.0.0.1\n")
      // posix_spawn and waitpid, not Foundation's Process, which lost the exit of this short-lived
      // parent (its child had become a zombie nobody reaped) and waited forever.
      #expect(try spawnAndWait(["/usr/sbin/ip", "netns", "exec", lab.router, "/usr/bin/timeout", "10", Shell.ipnatPath,
                                "natpmpd", "-f", lab.logPath("natpmpd.conf")]) == 0)
      let probe = try DaemonLab(lab: lab, attachingTo: "background")
      #expect(try probe.natpmpc([]).contains("Public IP address : 192.0.2.1"))
      let pid = try #require(probe.daemonPID)
      // Its own session, no terminal, and standard streams on /dev/null.
      let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8).split(separator: " ")
      #expect(stat[5] == String(pid), "a session leader")
      #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/2")) == "/dev/null")
      kill(pid, SIGTERM)
      try waitUntil("the background daemon removes its table") { probe.table.isEmpty }
    }
  }
}

/// Runs a program with standard streams on /dev/null; its exit status.
private func spawnAndWait(_ arguments: [String]) throws -> Int32 {
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  for stream: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, stream, "/dev/null", O_RDWR, 0) }
  let argv = arguments.map { strdup($0) } + [nil]
  defer { argv.forEach { free($0) } }
  var pid: pid_t = 0
  guard posix_spawn(&pid, arguments[0], &actions, nil, argv, environ) == 0 else { throw Lab.Failure("cannot start \(arguments[0])") }
  var status: Int32 = 0
  guard waitpid(pid, &status, 0) == pid else { throw Lab.Failure("waitpid failed") }
  return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

