#!/usr/bin/env python3
"""hostile_peer.py: monitored peers that answer as an attacker would, for
depwatch's tests of SPEC section 6 ("Peers are hostile").

    hostile_peer.py [--pidfile FILE] PORT=MODE [PORT=MODE ...]

Listens on 127.0.0.1:PORT for each pair (or on a unix socket when PORT is
an absolute path), one thread per connection, and
prints "hostile_peer: ready" once every port listens.  Python 3 standard
library only.  Modes:

  http_ok         answers 200 "ok" at once (a well-behaved neighbour)
  http_headers    answers "HTTP/1.1 200 OK" then 20,000 header lines, slowly
                  enough to go on for the whole probe
  http_endless    200 with a chunked body that never ends
  http_big        200 with a Content-Length of 30 MB, and sends it all
  pg_huge_row     a PostgreSQL server (protocol 3.0) that lets anyone in and
                  answers any query with one DataRow announced as 400 MB,
                  whose bytes it sends until the client goes away
  pg_error_euckr  refuses every login with an ErrorResponse whose message
                  is Korean in EUC-KR (invalid UTF-8), as a server with
                  lc_messages = ko_KR.euckr does
  pg_error_bad    the same with bytes that are valid in no encoding
  pg_error_long   the same with a valid UTF-8 Korean message of 3,000 bytes,
                  longer than a sample's detail
  pg_echo_password asks for the password in clear, then refuses the login
                  with an ErrorResponse that quotes it back
"""
import os
import socket
import struct
import sys
import threading
import time

KOREAN = "사용자 \"probe\"의 비밀번호 인증을 실패했습니다"


def read_startup(conn):
    """Reads the startup packet (answering 'N' to an SSL or GSS request)."""
    while True:
        head = recv_exact(conn, 4)
        if head is None:
            return False
        (length,) = struct.unpack("!I", head)
        body = recv_exact(conn, length - 4)
        if body is None:
            return False
        (code,) = struct.unpack("!I", body[:4])
        if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest
            conn.sendall(b"N")
            continue
        return True


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def msg(kind, payload):
    return kind + struct.pack("!I", len(payload) + 4) + payload


def error_response(text_bytes):
    fields = b"SFATAL\0" + b"VFATAL\0" + b"C28P01\0" + b"M" + text_bytes + b"\0\0"
    return msg(b"E", fields)


def serve_pg(conn, mode):
    if not read_startup(conn):
        return
    if mode == "pg_echo_password":
        conn.sendall(msg(b"R", struct.pack("!I", 3)))  # AuthenticationCleartextPassword
        head = recv_exact(conn, 5)
        if head is None or head[:1] != b"p":
            return
        password = recv_exact(conn, struct.unpack("!I", head[1:])[0] - 4).rstrip(b"\0")
        conn.sendall(error_response(b"password \"" + password + b"\" is wrong; try \"" + password + b"\" again"))
        return
    if mode.startswith("pg_error"):
        text = {
            "pg_error_euckr": KOREAN.encode("euc_kr"),
            "pg_error_bad": b"login failed: \xff\xfe\xc0\xaf\x80 \xed\xa0\x80 end",
            "pg_error_long": (KOREAN * 40).encode("utf-8")[:3000].decode("utf-8", "ignore").encode("utf-8"),
        }[mode]
        conn.sendall(error_response(text))
        return
    # pg_huge_row: trust everyone
    conn.sendall(msg(b"R", struct.pack("!I", 0))
                 + msg(b"S", b"server_encoding\0UTF8\0")
                 + msg(b"S", b"client_encoding\0UTF8\0")
                 + msg(b"K", struct.pack("!II", 1, 2))
                 + msg(b"Z", b"I"))
    head = recv_exact(conn, 5)
    if head is None:
        return
    recv_exact(conn, struct.unpack("!I", head[1:])[0] - 4)
    size = 400 * 1024 * 1024
    rowdesc = struct.pack("!H", 1) + b"x\0" + struct.pack("!IhIhih", 0, 0, 25, -1, -1, 0)
    conn.sendall(msg(b"T", rowdesc))
    # DataRow: length, one column of "size" bytes
    conn.sendall(b"D" + struct.pack("!IHI", 4 + 2 + 4 + size, 1, size))
    chunk = b"x" * 65536
    sent = 0
    while sent < size:
        conn.sendall(chunk)
        sent += len(chunk)


def serve_http(conn, mode):
    conn.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    if mode == "http_ok":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    elif mode == "http_headers":
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for i in range(20000):
            conn.sendall(b"X-Hostile-%d: %s\r\n" % (i, b"v" * 100))
        conn.sendall(b"Content-Length: 0\r\n\r\n")
    elif mode == "http_endless":
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
        while True:
            conn.sendall(chunk)
    elif mode == "http_big":
        size = 30 * 1024 * 1024
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        chunk = b"z" * 65536
        for _ in range(size // len(chunk)):
            conn.sendall(chunk)


def handle(conn, mode):
    try:
        if mode.startswith("pg_"):
            serve_pg(conn, mode)
        else:
            serve_http(conn, mode)
    except OSError:
        pass
    finally:
        conn.close()


def listen(where, mode):
    if where.startswith("/"):
        # a unix socket path, such as DIR/.s.PGSQL.PORT for libpq's host=DIR
        if os.path.exists(where):
            os.unlink(where)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(where)
        os.chmod(where, 0o777)  # the server's OS user connects to it
    else:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", int(where)))
    srv.listen(64)

    def loop():
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=handle, args=(conn, mode), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


def main():
    args = sys.argv[1:]
    pidfile = None
    if args[:1] == ["--pidfile"]:
        pidfile = args[1]
        args = args[2:]
        with open(pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    for pair in args:
        where, mode = pair.split("=", 1)
        listen(where, mode)
    print("hostile_peer: ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        if pidfile:
            os.unlink(pidfile)


if __name__ == "__main__":
    main()
