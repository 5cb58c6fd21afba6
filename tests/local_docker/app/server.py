"""Test app: GET / answers "version $APP_VERSION"; GET /healthz answers 200, or 500 when
$HEALTH is "fail"; with "slow:N" it answers after N seconds; with "host:H" only a request
whose Host header starts with H gets 200 (as an app checking allowed hosts); with
"thaw:N" it answers 503 for N seconds after the process was frozen (docker pause) for more
than 2 s, as gunicorn replaces workers whose heartbeat went stale. GET /crash ends the
process at once with exit code 3 (a crash). Listens on $BIND (default 0.0.0.0). Stops
cleanly on SIGTERM."""

import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

recovering_until = 0.0


def watch_for_thaw(seconds: float) -> None:
    global recovering_until
    last = time.monotonic()
    while True:
        time.sleep(0.2)
        now = time.monotonic()
        if now - last > 2:
            recovering_until = now + seconds
        last = now


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 64 * 1024  # a response leaves in one write, as from most servers: never half sent

    def do_GET(self):
        if self.path == "/crash":
            os._exit(3)
        if self.path == "/healthz":
            mode, _, value = os.environ.get("HEALTH", "").partition(":")
            if mode == "slow":
                time.sleep(float(value))
            ok = mode != "fail" and (mode != "host" or (self.headers.get("Host") or "").startswith(value))
            status, body = (200, b"ok\n") if ok else (500, b"unhealthy\n")
            if time.monotonic() < recovering_until:
                status, body = 503, b"recovering\n"
        else:
            status, body = 200, f"version {os.environ['APP_VERSION']}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        if self.path != "/healthz":
            print(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}", flush=True)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # load balancer health checks close their connections early


if os.environ.get("HEALTH", "").startswith("thaw:"):
    threading.Thread(target=watch_for_thaw, args=(float(os.environ["HEALTH"][5:]),), daemon=True).start()
server = Server((os.environ.get("BIND", "0.0.0.0"), int(os.environ.get("PORT", "8000"))), Handler)
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
print(f"serving version {os.environ['APP_VERSION']} on port {server.server_port}", flush=True)
server.serve_forever()
