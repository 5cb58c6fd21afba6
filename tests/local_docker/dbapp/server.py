"""The web: POST /jobs?text=... adds a row, GET /jobs lists them, /healthz checks the
database, / names the version."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import psycopg

VERSION = os.environ.get("APP_VERSION", "?")


class Handler(BaseHTTPRequestHandler):
    def _send(self, status, body, kind="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        try:
            if url.path == "/healthz":
                with psycopg.connect(connect_timeout=2) as db:
                    db.execute("SELECT 1")
                return self._send(200, "ok")
            if url.path == "/jobs":
                with psycopg.connect() as db:
                    rows = db.execute("SELECT id, text, version, processed_by FROM jobs ORDER BY id").fetchall()
                jobs = [{"id": r[0], "text": r[1], "version": r[2], "processed_by": r[3]} for r in rows]
                return self._send(200, json.dumps(jobs), "application/json")
            if url.path == "/":
                return self._send(200, f"version {VERSION}")
            return self._send(404, "not found")
        except psycopg.Error as error:
            return self._send(503, f"database error: {type(error).__name__}")

    def do_POST(self):
        url = urlparse(self.path)
        if url.path != "/jobs":
            return self._send(404, "not found")
        text = parse_qs(url.query).get("text", [""])[0]
        with psycopg.connect() as db:
            (job_id,) = db.execute(
                "INSERT INTO jobs (text, version) VALUES (%s, %s) RETURNING id", (text, VERSION)
            ).fetchone()
        return self._send(201, json.dumps({"id": job_id}), "application/json")

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler).serve_forever()
