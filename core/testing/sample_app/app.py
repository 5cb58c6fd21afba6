"""The contract kit's sample app: a few lines of stdlib HTTP, no dependencies.

``/`` answers with ``APP_VERSION``; ``/healthz`` with JSON; ``HEALTHY=false`` makes the
health check fail (for rollout tests). Listens on ``$PORT``.
"""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("APP_VERSION", "1")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            healthy = os.environ.get("HEALTHY", "true") != "false"
            self._send(
                200 if healthy else 503,
                "application/json",
                json.dumps({"status": "ok" if healthy else "failing", "version": VERSION}),
            )
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


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler).serve_forever()
