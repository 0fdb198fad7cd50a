#!/usr/bin/env python3
"""fake_outbound.py: peers that write down who reached them, for the tests of
depwatch's outbound rules (test/integration/trust_outbound.sh).

    fake_outbound.py --log FILE [--pidfile FILE] ADDR:PORT:MODE ...

Each ADDR:PORT listens (loopback addresses only) in one of two modes:

    http    answers every request with 200 and the body "status: ok"
    pg      speaks just enough of the PostgreSQL protocol to ask for a
            password: refuses SSL and GSS encryption, answers the startup
            message with AuthenticationCleartextPassword, and then reports
            an error whatever comes

Every event goes to the log, one line each, flushed at once:

    ready
    accept ADDR:PORT
    startup ADDR:PORT user=NAME
    password ADDR:PORT TEXT      (a password message came: the test fails)

Python 3 standard library only.
"""
import argparse
import os
import selectors
import socket
import struct
import sys

sel = selectors.DefaultSelector()
log_file = None


def log(line):
    log_file.write(line + "\n")
    log_file.flush()


class Conn:
    def __init__(self, sock, where, mode):
        self.sock, self.where, self.mode = sock, where, mode
        self.buf = b""
        self.started = False
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ, self.on_read)

    def close(self):
        sel.unregister(self.sock)
        self.sock.close()

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    def on_read(self):
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.close()
            return
        self.buf += data
        if self.mode == "http":
            if b"\r\n\r\n" in self.buf:
                body = b"status: ok"
                self.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
                self.close()
            return
        self.pg()

    def pg(self):
        while True:
            if not self.started:
                if len(self.buf) < 8:
                    return
                n, code = struct.unpack("!ii", self.buf[:8])
                if len(self.buf) < n:
                    return
                packet, self.buf = self.buf[:n], self.buf[n:]
                if code in (80877103, 80877104):    # SSLRequest, GSSENCRequest
                    self.send(b"N")
                    continue
                fields = packet[8:].split(b"\0")
                params = dict(zip(fields[0::2], fields[1::2]))
                log("startup %s user=%s" % (self.where, params.get(b"user", b"").decode(errors="replace")))
                self.started = True
                self.send(b"R" + struct.pack("!ii", 8, 3))     # cleartext password, please
                continue
            if len(self.buf) < 5:
                return
            kind = self.buf[:1]
            n = struct.unpack("!i", self.buf[1:5])[0]
            if len(self.buf) < 1 + n:
                return
            body, self.buf = self.buf[5:1 + n], self.buf[1 + n:]
            if kind == b"p":
                log("password %s %s" % (self.where, body.rstrip(b"\0").decode(errors="replace")))
            msg = b"SFATAL\0C28P01\0Mpassword authentication failed\0\0"
            self.send(b"E" + struct.pack("!i", 4 + len(msg)) + msg)
            self.close()
            return


def main():
    global log_file
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--pidfile")
    ap.add_argument("listen", nargs="+")
    args = ap.parse_args()
    log_file = open(args.log, "a")
    for spec in args.listen:
        addr, port, mode = spec.rsplit(":", 2)
        if not addr.startswith("127.") or mode not in ("http", "pg"):
            sys.exit("bad listener %s: loopback ADDR:PORT:http|pg" % spec)
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, int(port)))
        ls.listen(64)
        ls.setblocking(False)
        where = "%s:%s" % (addr, port)

        def on_accept(ls=ls, where=where, mode=mode):
            try:
                sock, _ = ls.accept()
            except OSError:
                return
            log("accept " + where)
            Conn(sock, where, mode)
        sel.register(ls, selectors.EVENT_READ, on_accept)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    log("ready")
    while True:
        for key, _ in sel.select():
            key.data()


if __name__ == "__main__":
    main()
