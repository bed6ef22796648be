#!/usr/bin/env python3
"""Traffic for ipnat's packet tests, run inside the test's own network namespaces.

Servers report what they saw: each answer carries the peer's address and port as the
server sees them and the server's own address and port, so a client learns how the router
translated its connection. Servers that cannot answer (ICMP, FTP) append to a log file.
Every call is bounded: sockets time out and servers exit after DEADLINE seconds.
"""
import argparse
import concurrent.futures
import ftplib
import os
import select
import socket
import struct
import sys
import time

DEADLINE = 30
# The stream commands must finish, and write their summaries, before the 25 s `timeout` that
# the tests wrap every command in.
STREAM_DEADLINE = 22
TIMEOUT = 2.0
# Linux's values (<linux/in.h>, <linux/in6.h>); Python names only some of them.
IP_PKTINFO = 8
IPV6_RECVPKTINFO = 49
IPV6_PKTINFO = 50


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def report(peer, local, extra=""):
    return f"{peer[0]} {peer[1]} {local[0]} {local[1]}{extra}"


def serve(args):
    """UDP and TCP servers on every (host, port) given, until the deadline."""
    sockets = []
    for endpoint in args.listen:
        host, port = endpoint.rsplit(":", 1)
        host = host.strip("[]")
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(family(host), kind)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family(host) == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((host, int(port)))
            if kind == socket.SOCK_STREAM:
                s.listen(64)
            sockets.append(s)
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        ready, _, _ = select.select(sockets, [], [], 0.5)
        for s in ready:
            if s.type == socket.SOCK_DGRAM:
                data, peer = s.recvfrom(2048)
                try:
                    s.sendto(report(peer, s.getsockname()).encode(), peer)
                except OSError:
                    pass  # a peer this host cannot reach (an untranslated source): no answer
                continue
            conn, peer = s.accept()
            with conn:
                mss = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
                conn.sendall(report(peer, conn.getsockname(), f" mss={mss}").encode())


def udp(args):
    """One datagram per --count, each from its own socket (so its own connection)."""
    for index in range(args.count):
        s = socket.socket(family(args.host), socket.SOCK_DGRAM)
        s.settimeout(0.3)
        if args.bind or args.sport:
            s.bind((args.bind or "", args.sport + index if args.sport else 0))
        answer = None
        for _ in range(10):  # a bounded wait for a server that is still starting
            s.sendto(b"probe", (args.host, args.port))
            try:
                answer = s.recv(2048).decode()
                break
            except socket.timeout:
                continue
        print(answer or "timeout", flush=True)
        s.close()


def batch(args):
    """One connection for each PROTO,BIND,SPORT,HOST,PORT given (PROTO udp or tcp; IPv4 or
    IPv6), each from its own socket and port; prints each answer in order, or "timeout". The
    datagrams are sent together, then the TCP connections are made at the same time, each
    within --wait."""
    items = [item.split(",") for item in args.items]
    answers = [None] * len(items)
    datagrams = []
    for index, (proto, bind, sport, host, port) in enumerate(items):
        if proto == "udp":
            s = socket.socket(family(host), socket.SOCK_DGRAM)
            s.bind((bind, int(sport)))
            datagrams.append((index, s, (host, int(port))))
    for _ in range(3):  # a datagram lost to a server still starting is sent again
        for index, s, target in datagrams:
            if answers[index] is None:
                s.sendto(b"probe", target)
        end = time.monotonic() + args.wait
        while time.monotonic() < end and any(answers[index] is None for index, _, _ in datagrams):
            waiting = [s for index, s, _ in datagrams if answers[index] is None]
            ready, _, _ = select.select(waiting, [], [], max(0, end - time.monotonic()))
            for s in ready:
                index = next(i for i, t, _ in datagrams if t is s)
                try:
                    answers[index] = s.recv(2048).decode()
                except OSError:
                    pass  # an ICMP error for an earlier try: wait for the next
    connections = [(index, item) for index, item in enumerate(items) if item[0] == "tcp"]

    def connect(entry):
        index, (_, bind, sport, host, port) = entry
        s = socket.socket(family(host), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(args.wait)
        try:
            s.bind((bind, int(sport)))
            s.connect((host, int(port)))
            answers[index] = s.recv(2048).decode()
        except OSError:
            pass  # refused, unreachable or no answer in time: nothing got through
        finally:
            s.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(connect, connections))
    for answer in answers:
        print(answer or "timeout", flush=True)


def serve_any(args):
    """UDP and TCP servers on every port given, on every address of the namespace, IPv4 and
    IPv6, until the deadline. A datagram's answer names the address it was sent to (read with
    IP_PKTINFO) and leaves from that address, as a server bound to it would answer."""
    sockets = []
    for port in args.ports:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            for af, wildcard in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
                s = socket.socket(af, kind)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if af == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    if kind == socket.SOCK_DGRAM:
                        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
                elif kind == socket.SOCK_DGRAM:
                    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
                s.bind((wildcard, port))
                if kind == socket.SOCK_STREAM:
                    s.listen(64)
                s.setblocking(False)
                sockets.append(s)
    poller = select.poll()
    by_descriptor = {s.fileno(): s for s in sockets}
    for s in sockets:
        poller.register(s, select.POLLIN)
    if args.ready:
        with open(args.ready, "w") as ready:
            ready.write("listening\n")
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        for descriptor, _ in poller.poll(500):
            s = by_descriptor[descriptor]
            try:
                if s.type == socket.SOCK_DGRAM:
                    answer_datagram(s)
                    continue
                conn, peer = s.accept()
            except (BlockingIOError, OSError):
                continue
            with conn:
                conn.setblocking(True)
                conn.settimeout(TIMEOUT)
                try:
                    conn.sendall(report(peer, conn.getsockname()).encode())
                except OSError:
                    pass


def answer_datagram(s):
    """Answers one datagram on a wildcard socket, from the address it was sent to."""
    data, ancillary, _, peer = s.recvmsg(2048, socket.CMSG_SPACE(20))
    for level, kind, value in ancillary:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
            local = socket.inet_ntop(socket.AF_INET, value[8:12])
            info = (socket.IPPROTO_IP, IP_PKTINFO, struct.pack("=i4s4s", 0, value[4:8], value[8:12]))
        elif level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO:
            local = socket.inet_ntop(socket.AF_INET6, value[:16])
            info = (socket.IPPROTO_IPV6, IPV6_PKTINFO, struct.pack("=16si", value[:16], 0))
        else:
            continue
        try:
            s.sendmsg([report(peer, (local, s.getsockname()[1])).encode()], [info], 0, peer)
        except OSError:
            pass  # a peer this host cannot reach: no answer
        return


def tcp(args):
    """--count connections, one after the other."""
    for _ in range(args.count):
        answer = "timeout"
        for _ in range(20):  # the server may not be listening yet
            s = socket.socket(family(args.host), socket.SOCK_STREAM)
            s.settimeout(TIMEOUT)
            if args.bind:
                s.bind((args.bind, 0))
            try:
                s.connect((args.host, args.port))
                mss = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
                answer = s.recv(2048).decode() + f" client-mss={mss}"
                s.close()
                break
            except (ConnectionRefusedError, socket.timeout):
                s.close()
                time.sleep(0.1)
        print(answer, flush=True)


def announce_ready(path):
    """Writes "ready" to path once, if a path was given: the test waits for it rather than
    guessing how long starting up takes on a loaded machine."""
    if path and not os.path.exists(path):
        with open(path, "w") as marker:
            marker.write("ready\n")


def stream_server(args):
    """One TCP stream and one UDP flow on HOST:PORT, echoed, until --stop-file or the deadline;
    then a JSON summary: every peer address each saw, whether the stream's lines came in order
    and unbroken, and the UDP sequence numbers received."""
    import json
    host, port = args.listen.rsplit(":", 1)
    listener = socket.socket(family(host), socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, int(port)))
    listener.listen(4)
    datagrams = socket.socket(family(host), socket.SOCK_DGRAM)
    datagrams.bind((host, int(port)))
    announce_ready(args.ready_file)
    summary = {"tcp_peers": [], "tcp_lines": 0, "tcp_in_order": True, "tcp_error": None,
               "udp_peers": [], "udp_sequence": [], "newflow_peers": []}
    stream, pending = None, b""
    end = time.monotonic() + STREAM_DEADLINE
    while time.monotonic() < end and not os.path.exists(args.stop_file):
        sockets = [listener, datagrams] + ([stream] if stream else [])
        ready, _, _ = select.select(sockets, [], [], 0.1)
        for s in ready:
            if s is listener:
                stream, peer = listener.accept()
                summary["tcp_peers"].append(peer[0])
            elif s is datagrams:
                data, peer = datagrams.recvfrom(2048)
                if data.startswith(b"flow "):
                    summary["udp_peers"].append(peer[0])
                    summary["udp_sequence"].append(int(data.split()[1]))
                else:
                    summary["newflow_peers"].append(peer[0])
                try:
                    datagrams.sendto(data, peer)
                except OSError:  # an untranslated source: no route back to it
                    pass
            else:
                try:
                    data = stream.recv(65536)
                except OSError as error:
                    summary["tcp_error"] = repr(error)
                    stream = None
                    continue
                if not data:
                    stream = None
                    continue
                stream.sendall(data)
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if int(line) != summary["tcp_lines"]:
                        summary["tcp_in_order"] = False
                    summary["tcp_lines"] += 1
    summary["tcp_peers"] = sorted(set(summary["tcp_peers"]))
    summary["udp_peers"] = sorted(set(summary["udp_peers"]))
    summary["newflow_peers"] = sorted(set(summary["newflow_peers"]))
    # Whole or not at all: the test reads the file as soon as it appears.
    with open(args.log + ".tmp", "w") as log:
        json.dump(summary, log)
    os.replace(args.log + ".tmp", args.log)


def stream_client(args):
    """Against stream-server: a TCP stream of numbered lines and a UDP flow of numbered
    datagrams from one socket, every --interval seconds, plus one datagram from a new socket
    (a new connection) every fourth tick, until --stop-file appears or the deadline passes.
    Prints a JSON summary of what was sent and what came back."""
    import json
    host, port = args.server.rsplit(":", 1)
    address = (host, int(port))
    summary = {"tcp_sent": 0, "tcp_echoed_bytes": 0, "tcp_sent_bytes": 0, "tcp_error": None,
               "udp_sent": 0, "udp_echoed": 0, "newflow_sent": 0, "newflow_answered": 0}
    stream = socket.create_connection(address, timeout=TIMEOUT)
    stream.setblocking(False)
    flow = socket.socket(family(host), socket.SOCK_DGRAM)
    flow.connect(address)
    flow.setblocking(False)
    new_flows = []

    def collect(until):
        """Takes every answer that arrives before `until`."""
        while time.monotonic() < until and not summary["tcp_error"]:
            ready, _, _ = select.select([stream, flow] + new_flows, [], [], max(0, until - time.monotonic()))
            for s in ready:
                try:
                    data = s.recv(65536)
                except OSError as error:
                    if s is stream:
                        summary["tcp_error"] = repr(error)
                    continue
                if s is stream:
                    if not data:
                        summary["tcp_error"] = "closed by the server"
                    summary["tcp_echoed_bytes"] += len(data)
                elif s is flow:
                    summary["udp_echoed"] += 1
                else:
                    summary["newflow_answered"] += 1
                    new_flows.remove(s)
                    s.close()

    end = time.monotonic() + STREAM_DEADLINE - 2
    tick = 0
    while time.monotonic() < end and not os.path.exists(args.stop_file) and not summary["tcp_error"]:
        line = f"{summary['tcp_sent']}\n".encode()
        try:
            stream.sendall(line)
            summary["tcp_sent"] += 1
            summary["tcp_sent_bytes"] += len(line)
        except BlockingIOError:
            pass
        except OSError as error:
            summary["tcp_error"] = repr(error)
            break
        flow.send(f"flow {summary['udp_sent']}".encode())
        summary["udp_sent"] += 1
        if tick % 4 == 0:
            probe = socket.socket(family(host), socket.SOCK_DGRAM)
            probe.setblocking(False)
            probe.sendto(b"new", address)
            new_flows.append(probe)
            summary["newflow_sent"] += 1
        tick += 1
        collect(time.monotonic() + args.interval)
        if summary["udp_echoed"] and summary["tcp_echoed_bytes"]:
            # Both flows have a translation now: the test may start changing the rules.
            announce_ready(args.ready_file)
    # The last answers: a bounded wait for echoes still on their way.
    settle = time.monotonic() + 1.0
    while time.monotonic() < settle and (new_flows or summary["udp_echoed"] < summary["udp_sent"]
                                         or summary["tcp_echoed_bytes"] < summary["tcp_sent_bytes"]):
        collect(min(settle, time.monotonic() + 0.1))
    print(json.dumps(summary), flush=True)


def icmp_checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def icmp_header(packet):
    """(type, id, sequence) of the ICMP message in an IPv4 packet from a raw socket."""
    icmp = packet[(packet[0] & 0x0F) * 4:]
    kind, _, _, ident, sequence = struct.unpack("!BBHHH", icmp[:8])
    return kind, ident, sequence


def echo_request(ident, sequence, payload):
    header = struct.pack("!BBHHH", 8, 0, 0, ident, sequence)
    return struct.pack("!BBHHH", 8, 0, icmp_checksum(header + payload), ident, sequence) + payload


def icmp_arrivals(log_path):
    """Each IPv4 packet with ICMP that arrives, with its sender, until the deadline; "listening"
    goes to the log first."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(0.5)
    with open(log_path, "a") as log:
        log.write("listening\n")
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        try:
            yield s.recvfrom(2048)
        except socket.timeout:
            continue


def await_reply(s, describe):
    """What DESCRIBE makes of the first packet on raw socket S it recognizes (it answers None
    for others), within TIMEOUT; "timeout" when none comes."""
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            break
        answer = describe(data, peer)
        if answer:
            return answer
    return "timeout"


def ping(args):
    """Echo requests with a chosen id; prints the id of each reply (IPv4)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(TIMEOUT)
    for sequence in range(args.count):
        s.sendto(echo_request(args.ident, sequence, b"ipnat-probe"), (args.host, 0))

        def reply(data, peer, sequence=sequence):
            kind, ident, seq = icmp_header(data)
            return f"reply id={ident}" if kind == 0 and seq == sequence else None

        print(await_reply(s, reply), flush=True)


def sniff_icmp(args):
    """Logs the id and source of every echo request that arrives, until the deadline."""
    for data, peer in icmp_arrivals(args.log):
        kind, ident, _ = icmp_header(data)
        if kind == 8:
            with open(args.log, "a") as log:
                log.write(f"echo from={peer[0]} id={ident}\n")


ICMP_ERRORS = {3, 4, 5, 11, 12}  # ICMPv6: every type below 128


def icmp_message(kind, ident, bind, host, payload):
    """An ICMP or ICMPv6 message of type KIND carrying PAYLOAD. A query or reply has the id and
    sequence number 1; an error quotes a UDP datagram from HOST to BIND, as BIND's error about
    a datagram from HOST would, the payload in the quoted datagram. The ICMPv6 checksum is left
    to the kernel."""
    if ":" in host:
        if kind >= 128:
            return struct.pack("!BBHHH", kind, 0, 0, ident, 1) + payload
        udp = struct.pack("!HHHH", 53, ident, 8 + len(payload), 0)
        quoted = (struct.pack("!IHBB", 6 << 28, len(udp) + len(payload), 17, 64)
                  + socket.inet_pton(socket.AF_INET6, host) + socket.inet_pton(socket.AF_INET6, bind))
        return struct.pack("!BBHI", kind, 0, 0, 0) + quoted + udp + payload
    if kind in ICMP_ERRORS:
        body = struct.pack("!I", 0) + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), 1, 0, 64, 17, 0,
                                                  socket.inet_aton(host), socket.inet_aton(bind)) \
            + struct.pack("!HHHH", 53, ident, 8 + len(payload), 0) + payload
    else:
        body = struct.pack("!HH", ident, 1) + payload
    return struct.pack("!BBH", kind, 0, icmp_checksum(struct.pack("!BB", kind, 0) + body)) + body


def echo(args):
    """An ICMP or ICMPv6 message for each BIND,IDENT,HOST,TOKEN[,TYPE] given (TYPE by number,
    an echo request when absent), the token in its payload, each sent twice; the far side's
    sniff-echo logs what arrives."""
    for _ in range(2):
        for item in args.items:
            bind, ident, host, token, *kind = item.split(",")
            v6 = ":" in host
            kind = int(kind[0]) if kind else (128 if v6 else 8)
            # The type in the payload tells the sniffer the message from the kernel's reply to it.
            packet = icmp_message(kind, int(ident), bind, host, f"ipnat-echo {token} {kind} ".encode())
            s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) if v6 else \
                socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            try:
                s.bind((bind, 0))
                s.sendto(packet, (host, 0))
            except OSError:
                pass  # no route: nothing arrives
            finally:
                s.close()
        time.sleep(0.1)


def sniff_echo(args):
    """Logs each message from `echo` that arrives, IPv4 or IPv6: its token, source and
    destination as the receiver sees them, until the deadline. An ICMPv6 raw socket gets no
    IPv6 header: the destination comes from IPV6_PKTINFO."""
    v4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    v6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    v6.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
    with open(args.log, "a") as log:
        log.write("listening\n")
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        ready, _, _ = select.select([v4, v6], [], [], 0.5)
        for s in ready:
            if s is v4:
                data = s.recv(2048)
                icmp = data[(data[0] & 0x0F) * 4:]
                source, destination = socket.inet_ntoa(data[12:16]), socket.inet_ntoa(data[16:20])
            else:
                icmp, ancillary, _, peer = s.recvmsg(2048, socket.CMSG_SPACE(20))
                source = peer[0]
                destination = next((socket.inet_ntop(socket.AF_INET6, value[:16]) for level, kind, value in ancillary
                                    if level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO), "?")
            marker = icmp.find(b"ipnat-echo ", 8)
            words = icmp[marker:].split(b" ") if marker >= 0 else []
            if len(words) < 3 or not words[2].isdigit() or icmp[0] != int(words[2]):
                continue  # not from `echo`, or the receiver's echo reply to it
            token = words[1].decode(errors="replace")
            with open(args.log, "a") as log:
                log.write(f"echo token={token} from={source} to={destination}\n")


ESP = 50


def esp_server(args):
    """Answers every ESP packet (IPv4) with one of its own to the sender, the SPI plus one, and
    logs the sender and SPI it saw, until the deadline. A raw IPv4 socket gets the IP header."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, ESP)
    with open(args.log, "a") as log:
        log.write("listening\n")
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        ready, _, _ = select.select([s], [], [], 0.5)
        if not ready:
            continue
        data, peer = s.recvfrom(2048)
        esp = data[(data[0] & 0x0F) * 4:]
        if len(esp) < 8 or not esp[8:].startswith(b"ipnat-esp"):
            continue
        spi = struct.unpack("!I", esp[:4])[0]
        with open(args.log, "a") as log:
            log.write(f"esp from={peer[0]} spi={spi}\n")
        s.sendto(struct.pack("!II", spi + 1, 1) + b"ipnat-esp reply", (peer[0], 0))


def esp_client(args):
    """One ESP packet to HOST with the SPI given; prints the SPI of the answer, or timeout."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, ESP)
    s.settimeout(TIMEOUT)
    if args.bind:
        s.bind((args.bind, 0))
    s.sendto(struct.pack("!II", args.spi, 1) + b"ipnat-esp request", (args.host, 0))

    def reply(data, peer):
        esp = data[(data[0] & 0x0F) * 4:]
        if peer[0] == args.host and esp[8:].startswith(b"ipnat-esp reply"):
            return f"reply spi={struct.unpack('!I', esp[:4])[0]}"
        return None

    print(await_reply(s, reply), flush=True)


def accept_one(host, port):
    """The first TCP connection to HOST:PORT, as a control-channel server (FTP, H.323) takes it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(1)
    listener.settimeout(DEADLINE)
    conn, _ = listener.accept()
    conn.settimeout(TIMEOUT * 2)
    return conn


def when_listening(connect):
    """What connect() returns once the server listens: up to 20 tries, 0.1 s apart."""
    for _ in range(19):
        try:
            return connect()
        except ConnectionRefusedError:
            time.sleep(0.1)
    return connect()


def ftp_server(args):
    """Just enough FTP for an active-mode LIST: logs the PORT it gets and whether the data
    connection back to that address succeeded."""
    conn = accept_one(args.host, 21)
    reader = conn.makefile("rb")

    def say(line):
        conn.sendall((line + "\r\n").encode())

    def log(line):
        with open(args.log, "a") as out:
            out.write(line + "\n")

    say("220 probe")
    port_address = None
    while True:
        line = reader.readline().decode().strip()
        if not line:
            return
        verb = line.split(" ")[0].upper()
        if verb == "PORT":
            numbers = [int(n) for n in line[5:].split(",")]
            port_address = (".".join(map(str, numbers[:4])), numbers[4] * 256 + numbers[5])
            log(f"PORT {port_address[0]} {port_address[1]}")
            say("200 ok")
        elif verb in ("LIST", "NLST", "RETR"):
            say("150 here it comes")
            try:
                data = socket.create_connection(port_address, timeout=TIMEOUT)
                data.sendall(b"listing-from-probe\r\n")
                data.close()
                log("data connection ok")
                say("226 done")
            except OSError as error:
                log(f"data connection failed: {error}")
                say("425 no data connection")
        elif verb == "QUIT":
            say("221 bye")
            return
        elif verb == "USER":
            say("331 password")
        elif verb == "PASS":
            say("230 in")
        else:
            say("200 ok")


def ftp_client(args):
    """Active mode (PORT), so the server connects back through the router."""
    ftp = ftplib.FTP()
    when_listening(lambda: ftp.connect(args.host, 21, timeout=TIMEOUT * 2))
    ftp.login("probe", "probe")
    ftp.set_pasv(False)
    lines = []
    ftp.retrlines("LIST", lines.append)
    print("\n".join(lines), flush=True)
    ftp.quit()


# H.323 call signalling, just enough for the kernel's helper: a TPKT (RFC 1006) holding a Q.931
# SETUP whose user-user element carries an H.225 Setup-UUIE in ASN.1 PER (aligned) with an
# h245Address, the address where the caller waits for the H.245 control connection.
H225_PROTOCOL_ID = bytes([0x06, 0x00, 0x08, 0x91, 0x4A, 0x00, 0x04])  # {0 0 8 2250 0 4}, length first
# From the PER: the two preamble bytes, the protocol identifier, then the address's choice byte.
H245_ADDRESS_OFFSET = 2 + len(H225_PROTOCOL_ID) + 1


def h225_setup(address, port):
    """The PER bytes, bit by bit: H323-UserInformation (extension 0, user-data absent),
    H323-UU-PDU (extension 0, nonStandardData absent), the message-body choice (extension 0,
    setup = 000), Setup-UUIE (extension 0, 7 optional bits: only h245Address present); then
    the octet-aligned protocol identifier; h245Address as the ipAddress choice (4 bits, then
    padding), its 4 address bytes and 2 port bytes; sourceInfo (extension, 6 absent options,
    mc, undefinedNode) and activeMC, all 0, padded; the 16-byte conferenceID; conferenceGoal
    (create) and callType (pointToPoint), padded."""
    per = bytes([0x00, 0x40]) + H225_PROTOCOL_ID + bytes([0x00])
    per += socket.inet_aton(address) + struct.pack("!H", port)
    per += bytes([0x00, 0x00]) + bytes(range(1, 17)) + bytes([0x00])
    user_user = bytes([0x7E]) + struct.pack("!H", len(per) + 1) + bytes([0x05]) + per
    q931 = bytes([0x08, 0x02, 0x00, 0x01, 0x05]) + user_user  # call reference 1, SETUP
    return bytes([0x03, 0x00]) + struct.pack("!H", len(q931) + 4) + q931


def h245_address(message):
    """The h245Address of a TPKT-framed SETUP made as above, as the far side received it."""
    q931 = message[4:]
    index = 2 + q931[1]  # past the discriminator, the call reference length and value...
    index += 1  # ...and the message type
    while q931[index] != 0x7E:
        index += 2 + q931[index + 1]
    per = q931[index + 4:]
    start = H245_ADDRESS_OFFSET
    return socket.inet_ntoa(per[start:start + 4]), struct.unpack("!H", per[start + 4:start + 6])[0]


def h323_server(args):
    """Takes one call on port 1720, logs the H.245 address its SETUP announces, and opens the
    H.245 connection to it, as a called endpoint does."""
    conn = accept_one(args.host, 1720)
    message = b""
    while len(message) < 4 or len(message) < struct.unpack("!H", message[2:4])[0]:
        chunk = conn.recv(4096)
        if not chunk:
            break
        message += chunk
    address, port = h245_address(message)
    with open(args.log, "a") as out:
        out.write(f"H245 {address} {port}\n")
        try:
            control = socket.create_connection((address, port), timeout=TIMEOUT)
            control.sendall(b"h245-from-probe\n")
            control.close()
            out.write("h245 connection ok\n")
        except OSError as error:
            out.write(f"h245 connection failed: {error}\n")
    conn.close()


def h323_client(args):
    """Calls the server with a SETUP that announces an H.245 address of its own, and prints
    what arrives on the H.245 connection."""
    call = when_listening(lambda: socket.create_connection((args.host, 1720), timeout=TIMEOUT))
    own_address = call.getsockname()[0]
    control = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    control.bind((own_address, 0))
    control.listen(1)
    control.settimeout(TIMEOUT * 2)
    call.sendall(h225_setup(own_address, control.getsockname()[1]))
    conn, _ = control.accept()
    conn.settimeout(TIMEOUT)
    print(conn.makefile("rb").readline().decode().strip(), flush=True)
    call.close()


def natpmp(args):
    """Sends each hex datagram to a NAT-PMP server and prints the reply in hex, or "timeout"."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(args.wait)
    if args.bind:
        s.bind((args.bind, 0))
    for datagram in args.datagrams:
        s.sendto(bytes.fromhex(datagram), (args.server, 5351))
        try:
            print(s.recv(2048).hex(), flush=True)
        except socket.timeout:
            print("timeout", flush=True)


def natpmp_noise(args):
    """--count random datagrams, half of them shaped like NAT-PMP, without waiting for replies."""
    import random
    rng = random.Random(args.seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(args.count):
        data = bytearray(rng.randbytes(rng.randrange(0, 40)))
        if len(data) >= 2 and rng.random() < 0.5:
            data[0], data[1] = 0, rng.randrange(0, 4)
        s.sendto(bytes(data), (args.server, 5351))
        time.sleep(0.0005)


def listen_multicast(args):
    """Joins GROUP on the interface of --interface-address and prints each datagram to PORT,
    in hex, with the time since start, for --seconds."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", args.port))
    membership = socket.inet_aton(args.group) + socket.inet_aton(args.interface_address)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    start = time.monotonic()
    end = start + args.seconds
    with open(args.log, "a") as log:
        print("listening", file=log, flush=True)
        while time.monotonic() < end:
            ready, _, _ = select.select([s], [], [], 0.2)
            if ready:
                data, peer = s.recvfrom(2048)
                print(f"{time.monotonic() - start:.3f} {peer[0]} {data.hex()}", file=log, flush=True)


def ssdp(args):
    """Sends an M-SEARCH for --target to HOST:1900 and prints each answer's status line and
    headers on one line, "|"-separated, until --wait passes with none; "timeout" when none came."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    if args.bind:
        s.bind((args.bind, 0))
    search = (f"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
              f"MX: 1\r\nST: {args.target}\r\n\r\n")
    for _ in range(args.count):
        s.sendto(search.encode(), (args.host, 1900))
    s.settimeout(args.wait)
    answered = False
    while True:
        try:
            data = s.recv(4096)
        except socket.timeout:
            break
        answered = True
        print("|".join(data.decode(errors="replace").strip().split("\r\n")), flush=True)
    if not answered:
        print("timeout", flush=True)


def http(args):
    """Sends one HTTP request to HOST:PORT and prints the status line, "closed" when the server
    closed without answering, "refused", or "timeout"."""
    try:
        s = socket.create_connection((args.host, args.port), timeout=args.wait)
    except ConnectionRefusedError:
        print("refused", flush=True)
        return
    except (socket.timeout, OSError):
        print("timeout", flush=True)
        return
    body = args.body.encode()
    head = f"{args.method} {args.path} HTTP/1.1\r\nHOST: {args.host}:{args.port}\r\nContent-Length: {len(body)}\r\n"
    for header in args.header:
        head += header + "\r\n"
    data = b""
    try:
        s.sendall(head.encode() + b"\r\n" + body)
        while chunk := s.recv(4096):
            data += chunk
    except socket.timeout:
        print("timeout", flush=True)
        return
    except OSError:
        pass  # a reset: what came before it is the answer
    print(data.split(b"\r\n")[0].decode(errors="replace") if data else "closed", flush=True)


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("serve")
    p.add_argument("listen", nargs="+", help="HOST:PORT")
    p.set_defaults(run=serve)
    for name, run in (("udp", udp), ("tcp", tcp)):
        p = commands.add_parser(name)
        p.add_argument("host")
        p.add_argument("port", type=int)
        p.add_argument("--bind", default="")
        p.add_argument("--sport", type=int, default=0)
        p.add_argument("--count", type=int, default=1)
        p.set_defaults(run=run)
    p = commands.add_parser("serve-any")
    p.add_argument("ports", nargs="+", type=int)
    p.add_argument("--ready", help="a file written once every socket listens")
    p.set_defaults(run=serve_any)
    p = commands.add_parser("batch")
    p.add_argument("items", nargs="+", help="PROTO,BIND,SPORT,HOST,PORT")
    p.add_argument("--wait", type=float, default=0.5)
    p.set_defaults(run=batch)
    p = commands.add_parser("stream-server")
    p.add_argument("listen", help="HOST:PORT")
    p.add_argument("log")
    p.add_argument("--stop-file", required=True)
    p.add_argument("--ready-file", help="written once the sockets listen")
    p.set_defaults(run=stream_server)
    p = commands.add_parser("stream-client")
    p.add_argument("server", help="HOST:PORT")
    p.add_argument("--stop-file", required=True)
    p.add_argument("--interval", type=float, default=0.005)
    p.add_argument("--ready-file", help="written once the stream and the flow have each been echoed")
    p.set_defaults(run=stream_client)
    p = commands.add_parser("ping")
    p.add_argument("host")
    p.add_argument("--ident", type=int, default=4321)
    p.add_argument("--count", type=int, default=1)
    p.set_defaults(run=ping)
    p = commands.add_parser("echo")
    p.add_argument("items", nargs="+", help="BIND,IDENT,HOST,TOKEN[,TYPE]")
    p.set_defaults(run=echo)
    p = commands.add_parser("sniff-echo")
    p.add_argument("log")
    p.set_defaults(run=sniff_echo)
    p = commands.add_parser("sniff-icmp")
    p.add_argument("log")
    p.set_defaults(run=sniff_icmp)
    p = commands.add_parser("esp-server")
    p.add_argument("log")
    p.set_defaults(run=esp_server)
    p = commands.add_parser("esp-client")
    p.add_argument("host")
    p.add_argument("--bind", default="")
    p.add_argument("--spi", type=int, default=4096)
    p.set_defaults(run=esp_client)
    p = commands.add_parser("ftp-server")
    p.add_argument("host")
    p.add_argument("log")
    p.set_defaults(run=ftp_server)
    p = commands.add_parser("ftp-client")
    p.add_argument("host")
    p.set_defaults(run=ftp_client)
    p = commands.add_parser("h323-server")
    p.add_argument("host")
    p.add_argument("log")
    p.set_defaults(run=h323_server)
    p = commands.add_parser("h323-client")
    p.add_argument("host")
    p.set_defaults(run=h323_client)
    p = commands.add_parser("natpmp")
    p.add_argument("server")
    p.add_argument("datagrams", nargs="+", help="hex")
    p.add_argument("--bind", default="")
    p.add_argument("--wait", type=float, default=1.0)
    p.set_defaults(run=natpmp)
    p = commands.add_parser("natpmp-noise")
    p.add_argument("server")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(run=natpmp_noise)
    p = commands.add_parser("listen-multicast")
    p.add_argument("group")
    p.add_argument("port", type=int)
    p.add_argument("log")
    p.add_argument("--interface-address", required=True)
    p.add_argument("--seconds", type=float, default=10)
    p.set_defaults(run=listen_multicast)
    p = commands.add_parser("ssdp")
    p.add_argument("host")
    p.add_argument("--target", default="ssdp:all")
    p.add_argument("--bind", default="")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--wait", type=float, default=1.0)
    p.set_defaults(run=ssdp)
    p = commands.add_parser("http")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("method")
    p.add_argument("path")
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--body", default="")
    p.add_argument("--wait", type=float, default=2.0)
    p.set_defaults(run=http)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
