"""The contract kit's sample app: a few lines of stdlib HTTP, no dependencies.

``/`` answers with ``APP_VERSION``; ``/healthz`` with JSON; ``HEALTHY=false`` makes the
health check fail (for rollout tests); ``/whoami`` with this process's random instance id
(which replica answered: the same ids after an ``up`` that changed nothing), the image's
``BUILD`` (its build argument: which image runs) and the SHA-256 of ``CONTRACT_SECRET``
(never the value); ``/services`` says which database variables the
web got (names only) and whether ``PGHOST:PGPORT`` accepts a connection. Listens on
``$PORT``. ``app.py worker`` is a worker: it prints one line saying it started and what
it got, then waits; ``app.py release`` is a release command: it prints one line and
exits, with status 3 when ``RELEASE_FAILS`` is set.
"""

import hashlib
import json
import os
import secrets
import signal
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("APP_VERSION", "1")
INSTANCE = secrets.token_hex(8)
DATABASE_ENV = ("DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD")


def services():
    """The database variables present (names only) and whether the database answers."""
    present = [name for name in DATABASE_ENV if os.environ.get(name)]
    reachable = False
    if "PGHOST" in present and "PGPORT" in present:
        try:
            socket.create_connection((os.environ["PGHOST"], int(os.environ["PGPORT"])), timeout=3).close()
            reachable = True
        except OSError:
            pass
    return {"env": present, "database_reachable": reachable}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            healthy = os.environ.get("HEALTHY", "true") != "false"
            self._send(
                200 if healthy else 503,
                "application/json",
                json.dumps({"status": "ok" if healthy else "failing", "version": VERSION}),
            )
        elif self.path == "/whoami":
            secret = os.environ.get("CONTRACT_SECRET")
            digest = hashlib.sha256(secret.encode()).hexdigest() if secret is not None else None
            answer = {"instance": INSTANCE, "build": os.environ.get("BUILD", ""), "secret_sha256": digest}
            self._send(200, "application/json", json.dumps(answer))
        elif self.path == "/services":
            self._send(200, "application/json", json.dumps(services()))
        else:
            self._send(200, "text/plain", f"sample app version {VERSION}\n")

    def _send(self, status, content_type, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        print(f"{self.address_string()} {format % args}", flush=True)


def worker():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"sample worker started (version {VERSION}): {json.dumps(services())}", flush=True)
    while True:
        time.sleep(3600)


def release():
    if os.environ.get("RELEASE_FAILS"):
        print(f"sample release command failed on purpose (version {VERSION})", flush=True)
        sys.exit(3)
    print(f"sample release command ran (version {VERSION}): {json.dumps(services())}", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "web"
    if mode == "worker":
        worker()
    elif mode == "release":
        release()
    else:
        ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler).serve_forever()
