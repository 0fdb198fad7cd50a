#!/usr/bin/env python3
"""Loopback peers for the probe-worker benchmark (Python 3 standard library).

    listeners.py --healthy 20000-24999 --hung 25000-25099 [--silent A-B]

healthy  listen with a large backlog, accept every connection and close it
         at once.  TCP_DEFER_ACCEPT: the kernel completes the handshake but
         wakes this process only once the client sends something, so a tcp
         probe (connect, then reset) costs it nothing, as a peer on another
         machine would cost the prober's machine nothing; an http probe
         sends its request and is accepted as before.
hung     a listening socket whose accept queue is full and is never
         accept()ed: the kernel drops every SYN, so a connect hangs until
         the prober's own timeout.  (A peer that accepts and then says
         nothing is *up* for a tcp probe, which is connect-only; this is
         the way to make a tcp peer hang.)
silent   accept and keep the connection open without ever writing (hangs
         an http probe, not a tcp one); kept for completeness.

Prints "ready N" on stdout once every socket listens, then serves until
SIGTERM/SIGINT, and prints the number of connections accepted on exit.
"""
import argparse
import os
import resource
import select
import signal
import socket
import sys


def port_range(text):
    lo, _, hi = text.partition("-")
    lo = int(lo)
    hi = int(hi or lo)
    if not (1024 <= lo <= hi <= 65535):
        raise argparse.ArgumentTypeError("bad port range %r" % text)
    return range(lo, hi + 1)


def listen(port, backlog):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(backlog)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--healthy", type=port_range, action="append", default=[])
    ap.add_argument("--hung", type=port_range, action="append", default=[])
    ap.add_argument("--silent", type=port_range, action="append", default=[])
    args = ap.parse_args()

    want = sum(len(r) for r in args.healthy + args.hung + args.silent) * 2 + 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    ep = select.epoll()
    serving = {}  # fd -> (listening socket, keep the accepted one open?)
    keep = []     # sockets held open (hung fillers, silent peers)

    for r in args.healthy:
        for port in r:
            s = listen(port, 4096)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
            s.setblocking(False)
            serving[s.fileno()] = (s, False)
            ep.register(s.fileno(), select.EPOLLIN)
    for r in args.silent:
        for port in r:
            s = listen(port, 4096)
            s.setblocking(False)
            serving[s.fileno()] = (s, True)
            ep.register(s.fileno(), select.EPOLLIN)
    for r in args.hung:
        for port in r:
            s = listen(port, 0)
            keep.append(s)
            # backlog 0 admits one connection into the accept queue; fill it
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.settimeout(1.0)
            c.connect(("127.0.0.1", port))
            keep.append(c)
            # the next connect must hang
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.settimeout(0.05)
            try:
                probe.connect(("127.0.0.1", port))
                sys.exit("port %d: the accept queue is not full; hung peers would answer" % port)
            except (socket.timeout, TimeoutError):
                pass
            finally:
                probe.close()

    stop = False

    def on_signal(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print("ready %d" % (len(serving) + len(args.hung and [p for r in args.hung for p in r])), flush=True)

    accepted = 0
    while not stop:
        try:
            events = ep.poll(1.0, 1024)
        except InterruptedError:
            continue
        for fd, _ in events:
            s, hold = serving[fd]
            while True:
                try:
                    c, _ = s.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                accepted += 1
                if hold:
                    keep.append(c)
                else:
                    c.close()
    print("accepted %d" % accepted, flush=True)


if __name__ == "__main__":
    main()
