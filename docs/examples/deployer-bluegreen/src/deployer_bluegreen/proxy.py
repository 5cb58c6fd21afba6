"""The reverse proxy the ingress phase runs: standard-library Python only, so it runs
from any image with python3 (default ``python:3.12-slim``). It reads its upstreams from
``/cfg/upstreams`` (JSON, written by the driver with ``docker exec``) whenever the file
changes, spreads requests round-robin, and retries another upstream when one refuses or
vanishes, so removing a replica or switching colours drops no request."""

SCRIPT = r"""
import http.client, http.server, itertools, json, os, socket, sys, threading
CFG = "/cfg/upstreams"
HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length", "host"}
state = {"mtime": None, "ups": []}
lock = threading.Lock()
counter = itertools.count()

def upstreams():
    try:
        mtime = os.stat(CFG).st_mtime_ns
    except OSError:
        return []
    with lock:
        if mtime != state["mtime"]:
            try:
                with open(CFG) as f:
                    state["ups"] = json.load(f)["upstreams"]
                state["mtime"] = mtime
            except (OSError, ValueError, KeyError):
                pass
        return state["ups"]

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "bluegreen-proxy"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        headers["X-Forwarded-For"] = self.client_address[0]
        idempotent = self.command in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")
        start = next(counter)
        error = "no upstream"
        for attempt in range(12):
            ups = upstreams()
            if not ups:
                break
            host, port = ups[(start + attempt) % len(ups)].rsplit(":", 1)
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            sent = False
            try:
                conn.connect()
                sent = True
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except OSError as exc:
                error = f"{host}: {exc}"
                conn.close()
                if sent and not idempotent and not isinstance(exc, ConnectionRefusedError):
                    break
                if attempt >= len(ups):
                    threading.Event().wait(0.05)
                continue
            conn.close()
            self.send_response_only(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            return
        msg = f"bluegreen proxy: no upstream answered ({error})\n".encode()
        self.send_response_only(502 if upstreams() else 503)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(msg)))
        self.end_headers()
        self.wfile.write(msg)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = handle_any

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

Server(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
"""
