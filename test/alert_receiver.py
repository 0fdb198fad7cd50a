#!/usr/bin/env python3
"""alert_receiver.py: a loopback webhook receiver for depwatch's alert tests.

    alert_receiver.py --port P --log FILE [--mode accept|fail|hang|huge]
                      [--host 127.0.0.1] [--pidfile FILE]

Records every request it reads, one JSON object a line appended to FILE
(flushed at once): {"t": epoch seconds, "path", "headers": {lowercase name:
value}, "body": the body as text}.  Prints "alert_receiver: port P pid N"
once it listens.  Python 3 standard library only.

Modes (what it answers once the request is recorded):

    accept   204 No Content
    fail     500 with a short body
    hang     nothing: the connection stays open, unanswered, until the
             client gives up
    huge     200 and a 30 MB body, written until the client stops reading;
             then prints "huge: sent N of 31457280 bytes"

"Refusing" is the receiver stopped: kill it (SIGTERM), start it again on the
same port and log to come back.
"""
import argparse
import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HUGE = 30 * 1024 * 1024
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        rec = {"t": time.time(), "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body}
        with lock:
            with open(self.server.log, "a") as f:
                f.write(json.dumps(rec) + "\n")
                f.flush()
        mode = self.server.mode
        if mode == "accept":
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "fail":
            msg = b"receiver configured to fail\n"
            self.send_response(500)
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
        elif mode == "hang":
            while True:
                time.sleep(3600)
        elif mode == "huge":
            self.send_response(200)
            self.send_header("Content-Length", str(HUGE))
            self.end_headers()
            chunk = b"x" * 65536
            sent = 0
            try:
                for _ in range(HUGE // len(chunk)):
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except OSError:
                pass            # the client stopped reading: as it should
            print(f"huge: sent {sent} of {HUGE} bytes", flush=True)
        self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode", default="accept", choices=["accept", "fail", "hang", "huge"])
    ap.add_argument("--pidfile")
    a = ap.parse_args()
    srv = Server((a.host, a.port), Handler)
    srv.log = a.log
    srv.mode = a.mode
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write(str(os.getpid()))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print(f"alert_receiver: port {a.port} pid {os.getpid()}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
