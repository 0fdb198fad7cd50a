#!/usr/bin/env python3
"""fake_dependency.py: fake outside services for depwatch's probe tests.

One process serves several fake services, one per TCP port on 127.0.0.1,
and switches each between modes at run time through an HTTP control port.
Python 3 standard library only.

    fake_dependency.py --control 18100 --ports 18101-18130[,18140] \
        [--mode up] [--set 18103=refuse ...] [--dns-hang 53] \
        [--pidfile FILE] [--verbose]

It prints one line when every port is set up:

    fake_dependency: control 18100 pid 12345

(--control 0 picks a free control port; read it from that line.)  The PID
also goes to --pidfile, which is removed again on a clean exit (SIGTERM,
SIGINT or GET /quit).

Control interface (HTTP GET on 127.0.0.1:CONTROL, answers text/plain):

    /set?port=P&mode=M   set the mode of P; P may be "18101", "18101-18110"
                         or "18101,18105"; answers "ok" (400 on bad input)
    /get?port=P          the mode of P
    /status              one line per port: port, mode, listening (yes/no),
                         accepted connections, HTTP answers sent, open
                         connections
    /reset?port=P        zero P's counters
    /quit                exit

    curl -s 'http://127.0.0.1:18100/set?port=18103&mode=refuse'

Modes of a service port:

    up          listens; answers every HTTP request with 200 and the body
                "status: ok"
    refuse      the port is closed: connections are refused (RST), which is
                what a tcp probe sees as "down"
    hang        accepts and reads, never answers (a tcp connect succeeds; an
                HTTP request times out)
    blackhole   listens with a full accept queue that is never accepted from:
                the kernel drops every SYN, so even a tcp connect hangs until
                the client gives up, as behind a firewall that drops packets
    slow:MS     like up, but answers MS milliseconds after the request came
    http503     answers 503 Service Unavailable
    wrongbody   answers 200 with the body "status: degraded"
    reset       accepts, then resets the connection at once (SO_LINGER 0)
    resetfrom:A[+B...]
                like up for every client, except that connections from the
                source addresses A, B, ... (e.g. 127.0.0.2) are reset at once,
                as in reset: a dependency that fails for one vantage only
                (in a /set URL, write + as %2B)
    flap:N      alternates between up and refuse every N seconds (N may be
    flap:U:D    fractional), starting with up at the moment it is set; with
                two numbers, U seconds up then D seconds refused.
                Time-based, not count-based: a refused port never sees the
                connections it refuses, so they cannot be counted.  For a
                dependency probed every second, a refused phase shorter than
                2 s covers at most 2 consecutive probes, and an up phase
                longer than 1 s at least one.

--dns-hang PORT also opens a UDP port on 127.0.0.1 that reads DNS queries
and never answers: a name server that hangs (point a resolv.conf at it, in
a private mount namespace, to make name resolution slow).

A connection keeps the mode its port had when it was accepted (a hung
connection stays hung after the port is set to up).  HTTP answers carry
"Connection: close"; a client that connects and closes (a tcp probe) costs
nothing.  Everything runs in one selector loop with non-blocking sockets and
a timer heap, so no service, connection or control request ever waits for
another.
"""

import argparse
import errno
import heapq
import itertools
import os
import selectors
import signal
import socket
import struct
import sys
import time
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
MAX_REQUEST = 64 * 1024
STATIC_MODES = ("up", "refuse", "hang", "blackhole", "http503", "wrongbody", "reset")

BODIES = {
    "up": (200, "OK", b"status: ok\n"),
    "slow": (200, "OK", b"status: ok\n"),
    "flap": (200, "OK", b"status: ok\n"),
    "http503": (503, "Service Unavailable", b"status: unavailable\n"),
    "wrongbody": (200, "OK", b"status: degraded\n"),
}


def parse_mode(text):
    """Return (name, args) for a mode string, or raise ValueError."""
    text = text.strip()
    if text in STATIC_MODES:
        return text, ()
    name, _, rest = text.partition(":")
    if name == "slow":
        ms = int(rest)
        if ms < 0:
            raise ValueError("slow:MS needs MS >= 0")
        return "slow", (ms,)
    if name == "flap":
        parts = rest.split(":")
        if len(parts) == 1:
            up = down = float(parts[0])
        elif len(parts) == 2:
            up, down = float(parts[0]), float(parts[1])
        else:
            raise ValueError("flap:N or flap:UP:DOWN")
        if up <= 0 or down <= 0:
            raise ValueError("flap periods must be > 0")
        return "flap", (up, down)
    if name == "resetfrom":
        try:
            addrs = tuple(socket.inet_ntoa(socket.inet_aton(a)) for a in rest.split("+") if a)
        except OSError:
            addrs = ()
        if not addrs:
            raise ValueError("resetfrom:ADDR[+ADDR...]")
        return "resetfrom", addrs
    raise ValueError("unknown mode %r" % text)


def parse_ports(text):
    """'18101-18105,18110' -> [18101, ..., 18105, 18110]"""
    ports = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        lo = int(lo)
        hi = int(hi) if hi else lo
        if not (1 <= lo <= hi <= 65535):
            raise ValueError("bad port range %r" % part)
        ports.extend(range(lo, hi + 1))
    if not ports:
        raise ValueError("no ports")
    return ports


class Server:
    def __init__(self, verbose=False):
        self.sel = selectors.DefaultSelector()
        self.timers = []            # heap of (when, seq, callback)
        self.seq = itertools.count()
        self.services = {}          # port -> Service
        self.running = True
        self.verbose = verbose
        self.dns = None             # DnsHang, with --dns-hang

    def log(self, msg):
        if self.verbose:
            print("fake_dependency: %.3f %s" % (time.time(), msg), file=sys.stderr, flush=True)

    def later(self, delay, callback):
        """Run callback after delay seconds; returns a handle for cancel()."""
        entry = [time.monotonic() + delay, next(self.seq), callback]
        heapq.heappush(self.timers, entry)
        return entry

    @staticmethod
    def cancel(entry):
        if entry is not None:
            entry[2] = None

    def run(self):
        while self.running:
            timeout = None
            now = time.monotonic()
            while self.timers and self.timers[0][2] is None:
                heapq.heappop(self.timers)
            if self.timers:
                timeout = max(0.0, self.timers[0][0] - now)
            for key, events in self.sel.select(timeout):
                try:
                    key.data(events)
                except Exception as e:  # one bad connection must not stop the rest
                    self.log("handler error: %r" % (e,))
            now = time.monotonic()
            while self.timers and (self.timers[0][2] is None or self.timers[0][0] <= now):
                _, _, callback = heapq.heappop(self.timers)
                if callback is not None:
                    try:
                        callback()
                    except Exception as e:
                        self.log("timer error: %r" % (e,))


class Service:
    """One fake service on one port."""

    def __init__(self, server, port, mode):
        self.server = server
        self.port = port
        self.listener = None
        self.blackhole = []               # the full queue's listener and filler
        self.mode = None
        self.args = ()
        self.flap_timer = None
        self.flap_up = True
        self.accepted = 0
        self.answered = 0
        self.open = 0
        self.set_mode(mode)

    # -- listening --------------------------------------------------------
    def listen(self):
        if self.listener is not None:
            return
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((HOST, self.port))
        s.listen(1024)
        s.setblocking(False)
        self.listener = s
        self.server.sel.register(s, selectors.EVENT_READ, self.on_accept)
        self.server.log("port %d listening" % self.port)

    def close_listener(self):
        if self.listener is None:
            return
        self.server.sel.unregister(self.listener)
        self.listener.close()
        self.listener = None
        self.server.log("port %d closed" % self.port)

    def open_blackhole(self):
        """Listen with backlog 0 and fill the one place in the accept queue:
        the kernel then drops every SYN and a connect hangs."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((HOST, self.port))
        s.listen(0)
        filler = socket.create_connection((HOST, self.port), timeout=1.0)
        self.blackhole = [s, filler]
        self.server.log("port %d a black hole" % self.port)

    def close_blackhole(self):
        for s in self.blackhole:
            s.close()
        self.blackhole = []

    # -- modes ------------------------------------------------------------
    def set_mode(self, text):
        name, args = parse_mode(text)
        self.server.cancel(self.flap_timer)
        self.flap_timer = None
        self.mode, self.args = name, args
        self.mode_text = text
        self.close_blackhole()
        if name == "refuse":
            self.close_listener()
        elif name == "blackhole":
            self.close_listener()
            self.open_blackhole()
        elif name == "flap":
            self.flap_up = True
            self.listen()
            self.flap_timer = self.server.later(args[0], self.flap_toggle)
        else:
            self.listen()

    def flap_toggle(self):
        up, down = self.args
        self.flap_up = not self.flap_up
        if self.flap_up:
            self.listen()
            self.flap_timer = self.server.later(up, self.flap_toggle)
        else:
            self.close_listener()
            self.flap_timer = self.server.later(down, self.flap_toggle)

    # -- connections ------------------------------------------------------
    def on_accept(self, events):
        for _ in range(256):
            if self.listener is None:
                return
            try:
                conn, peer = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self.server.log("accept on %d: %s" % (self.port, e))
                    return
                raise
            self.accepted += 1
            if self.mode == "reset" or (self.mode == "resetfrom" and peer[0] in self.args):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                continue
            Connection(self, conn)


class Connection:
    def __init__(self, service, sock):
        self.service = service
        self.server = service.server
        self.sock = sock
        self.mode = service.mode          # fixed at accept time
        self.args = service.args
        self.inbuf = b""
        self.outbuf = b""
        self.timer = None
        self.closed = False
        sock.setblocking(False)
        service.open += 1
        self.server.sel.register(sock, selectors.EVENT_READ, self.on_event)

    def on_event(self, events):
        if events & selectors.EVENT_READ:
            self.on_readable()
        if not self.closed and events & selectors.EVENT_WRITE:
            self.flush()

    def on_readable(self):
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        if not data:                      # the client went away
            self.close()
            return
        if self.outbuf or self.timer is not None:
            return                        # answer on its way; ignore the rest
        self.inbuf += data
        if b"\r\n\r\n" not in self.inbuf and len(self.inbuf) < MAX_REQUEST:
            return
        self.inbuf = b""
        if self.mode == "hang":
            return                        # read on, never answer
        if self.mode == "slow":
            self.timer = self.server.later(self.args[0] / 1000.0, self.answer)
        else:
            self.answer()

    def answer(self):
        self.timer = None
        if self.closed:
            return
        status, reason, body = BODIES.get(self.mode, BODIES["up"])
        head = ("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                "Connection: close\r\n\r\n" % (status, reason, len(body)))
        self.outbuf = head.encode() + body
        self.service.answered += 1
        self.flush()

    def flush(self):
        try:
            n = self.sock.send(self.outbuf)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:
            self.close()
            return
        self.outbuf = self.outbuf[n:]
        if self.outbuf:
            self.server.sel.modify(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, self.on_event)
            return
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        self.server.cancel(self.timer)
        self.timer = None
        self.service.open -= 1
        try:
            self.server.sel.unregister(self.sock)
        except (KeyError, ValueError):
            pass
        self.sock.close()


class DnsHang:
    """A UDP "name server" that reads every query and never answers."""

    def __init__(self, server, port):
        self.server = server
        self.queries = 0
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((HOST, port))
        s.setblocking(False)
        self.sock = s
        server.sel.register(s, selectors.EVENT_READ, self.on_read)

    def on_read(self, events):
        while True:
            try:
                self.sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            self.queries += 1


class Control:
    """The control port: tiny HTTP/1.0, one request per connection."""

    def __init__(self, server, port):
        self.server = server
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((HOST, port))
        s.listen(128)
        s.setblocking(False)
        self.listener = s
        self.port = s.getsockname()[1]
        server.sel.register(s, selectors.EVENT_READ, self.on_accept)

    def on_accept(self, events):
        while True:
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            conn.setblocking(False)
            state = {"buf": b""}
            self.server.sel.register(conn, selectors.EVENT_READ,
                                     lambda ev, c=conn, st=state: self.on_read(c, st))

    def on_read(self, conn, state):
        try:
            data = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        state["buf"] += data
        if data and b"\r\n\r\n" not in state["buf"] and len(state["buf"]) < MAX_REQUEST:
            return
        self.server.sel.unregister(conn)
        try:
            code, text = self.handle(state["buf"])
        except Exception as e:
            code, text = 500, "error: %r\n" % (e,)
        body = text.encode()
        reply = ("HTTP/1.0 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                 "Connection: close\r\n\r\n" % (code, "OK" if code == 200 else "Error", len(body))).encode() + body
        self.send(conn, reply)

    def send(self, conn, data):
        """Send without blocking; the rest when the client can take it."""
        try:
            n = conn.send(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:
            conn.close()
            return
        if n == len(data):
            conn.close()
            return
        rest = data[n:]
        self.server.sel.register(conn, selectors.EVENT_WRITE,
                                 lambda ev, c=conn, r=rest: self.resend(c, r))

    def resend(self, conn, data):
        self.server.sel.unregister(conn)
        self.send(conn, data)

    def handle(self, raw):
        line = raw.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split()
        if len(parts) < 2:
            return 400, "bad request\n"
        url = urlsplit(parts[1])
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        services = self.server.services
        if url.path == "/quit":
            self.server.running = False
            return 200, "bye\n"
        if url.path == "/status":
            out = []
            for port in sorted(services):
                s = services[port]
                out.append("%d %s %s %d %d %d" % (port, s.mode_text,
                                                  "yes" if s.listener is not None else "no",
                                                  s.accepted, s.answered, s.open))
            if self.server.dns is not None:
                out.append("dns %d queries unanswered" % self.server.dns.queries)
            return 200, "\n".join(out) + "\n"
        if url.path not in ("/set", "/get", "/reset"):
            return 404, "unknown path %s (try /set, /get, /status, /reset, /quit)\n" % url.path
        if "port" not in q:
            return 400, "port= is missing\n"
        try:
            ports = parse_ports(q["port"])
        except ValueError as e:
            return 400, "%s\n" % e
        unknown = [p for p in ports if p not in services]
        if unknown:
            return 400, "not a service port: %s\n" % ",".join(map(str, unknown))
        if url.path == "/get":
            return 200, "".join("%s\n" % services[p].mode_text for p in ports)
        if url.path == "/reset":
            for p in ports:
                services[p].accepted = services[p].answered = 0
            return 200, "ok\n"
        if "mode" not in q:
            return 400, "mode= is missing\n"
        try:
            parse_mode(q["mode"])
        except ValueError as e:
            return 400, "%s\n" % e
        for p in ports:
            services[p].set_mode(q["mode"])
        self.server.log("set %s to %s" % (q["port"], q["mode"]))
        return 200, "ok\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--control", type=int, required=True,
                    help="control port on 127.0.0.1 (0: any free port, printed)")
    ap.add_argument("--ports", required=True, help="service ports, e.g. 18101-18130,18140")
    ap.add_argument("--mode", default="up", help="initial mode of every service port (up)")
    ap.add_argument("--set", action="append", default=[], metavar="PORT=MODE",
                    help="initial mode of some ports (PORT may be a range)")
    ap.add_argument("--dns-hang", type=int, metavar="PORT",
                    help="also a UDP name server on 127.0.0.1:PORT that never answers")
    ap.add_argument("--pidfile", help="write the PID here")
    ap.add_argument("--verbose", action="store_true", help="log events on stderr")
    a = ap.parse_args()

    try:
        ports = parse_ports(a.ports)
        parse_mode(a.mode)
        initial = {p: a.mode for p in ports}
        for item in a.set:
            p, _, m = item.partition("=")
            parse_mode(m)
            for port in parse_ports(p):
                if port not in initial:
                    raise ValueError("--set %s: %d is not in --ports" % (item, port))
                initial[port] = m
    except ValueError as e:
        ap.error(str(e))

    server = Server(verbose=a.verbose)

    def stop(signum, frame):
        # raise, so that a select() without timeout does not resume (PEP 475)
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    try:
        control = Control(server, a.control)
        if a.dns_hang is not None:
            server.dns = DnsHang(server, a.dns_hang)
        for p in ports:
            server.services[p] = Service(server, p, initial[p])
    except OSError as e:
        print("fake_dependency: cannot listen: %s" % e, file=sys.stderr)
        sys.exit(1)
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    print("fake_dependency: control %d pid %d" % (control.port, os.getpid()), flush=True)
    try:
        server.run()
    finally:
        if a.pidfile:
            try:
                os.unlink(a.pidfile)
            except OSError:
                pass


if __name__ == "__main__":
    main()
