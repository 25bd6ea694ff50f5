"""A webhook receiver on 127.0.0.1 for the webhook tests: Python's own HTTP server.

Usage: webhook_receiver.py PORT_FILE LOG_FILE FAIL_FIRST SECRET

Writes the port it listens on to PORT_FILE; answers the first FAIL_FIRST POSTs with 503
and the rest with 200; appends one JSON line per POST to LOG_FILE: the request number,
the status it answered, the headers, the body, and whether X-Plexus-Signature-256 is the
HMAC-SHA256 of the body with SECRET. Runs until killed, until the process that started it
is gone, or for at most two minutes, so a test that dies cannot leave it behind.
"""

import hashlib
import hmac
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A parent may hand down a signal mask that blocks SIGTERM: be stoppable all the same.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
signal.signal(signal.SIGTERM, signal.SIG_DFL)

port_file, log_file, fail_first, secret = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
lock = threading.Lock()
count = 0


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        with lock:
            count += 1
            number = count
            status = 503 if number <= fail_first else 200
            record = {
                "request": number,
                "status": status,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": json.loads(body),
                "signature_ok": hmac.compare_digest(self.headers.get("X-Plexus-Signature-256", ""), expected),
            }
            with open(log_file, "a") as log:
                log.write(json.dumps(record) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
with open(port_file + ".tmp", "w") as handle:
    handle.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)


def watch_parent(parent, deadline):
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.5)
    os._exit(0)


threading.Thread(target=watch_parent, args=(os.getppid(), time.monotonic() + 120), daemon=True).start()
server.serve_forever()
