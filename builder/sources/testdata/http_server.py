#!/usr/bin/env python3
"""A misbehaving HTTP server for strata's source-fetch tests.

Listens on 127.0.0.1 on an ephemeral port, prints the port on stdout, then serves until
killed. Paths:
  /good.txt           200, "hello, strata\n"
  /wrong.txt          200, other bytes
  /missing.txt        404
  /truncated.txt      200, Content-Length 1000, 10 bytes sent, then the connection closes
  /stall.txt          200, Content-Length 100, 5 bytes sent, then silence for 60 s
  /redirect/N         302 to /redirect/N-1; /redirect/0 redirects to /good.txt
  /moved-away         302 to /missing.txt
  /loop               302 to itself
  /to-file            302 to file:///etc/passwd
  /flaky.txt          503 on the first request, then like /good.txt
  /big.bin            200, 1 MiB of zeros
  /hits/PATH          200, the number of requests PATH has had, as text
"""
import collections
import http.server
import os
import sys
import threading
import time

GOOD = b"hello, strata\n"
HITS = collections.Counter()
LOCK = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, status, body, length=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        path = self.path
        if path.startswith("/hits/"):
            with LOCK:
                count = HITS["/" + path[len("/hits/"):]]
            return self.send_body(200, str(count).encode())
        with LOCK:
            HITS[path] += 1
            hits = HITS[path]
        if path == "/good.txt":
            self.send_body(200, GOOD)
        elif path == "/wrong.txt":
            self.send_body(200, b"not what was pinned\n")
        elif path == "/truncated.txt":
            self.send_body(200, b"0123456789", length=1000)
            self.close_connection = True
        elif path == "/stall.txt":
            self.send_body(200, b"01234", length=100)
            time.sleep(60)
        elif path.startswith("/redirect/"):
            n = int(path[len("/redirect/"):])
            self.redirect("/good.txt" if n == 0 else "/redirect/%d" % (n - 1))
        elif path == "/moved-away":
            self.redirect("/missing.txt")
        elif path == "/loop":
            self.redirect("/loop")
        elif path == "/to-file":
            self.redirect("file:///etc/passwd")
        elif path == "/flaky.txt":
            if hits == 1:
                self.send_body(503, b"try again later\n")
            else:
                self.send_body(200, GOOD)
        elif path == "/big.bin":
            self.send_body(200, bytes(1 << 20))
        else:
            self.send_body(404, b"not found\n")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def exit_with_parent(parent):
    # A test binary that crashes cannot kill us: leave when it is gone.
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main():
    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
