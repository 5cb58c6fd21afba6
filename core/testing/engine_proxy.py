"""A Docker engine that fails on demand: a Unix socket relaying to the real engine's, for
fault tests (``DOCKER_HOST=unix://<proxy.path>``), never by stopping the shared daemon.

- :meth:`EngineProxy.stall`: the engine seems hung: connections are accepted, nothing is
  relayed any more in either direction, until :meth:`EngineProxy.resume`.
- :meth:`EngineProxy.drop`: the engine closes every connection, the open ones at once
  and each new one as it arrives, until :meth:`EngineProxy.resume`.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from pathlib import Path
from types import TracebackType

_CHUNK = 65536


class EngineProxy:
    """Relays ``path`` (a new Unix socket) to the engine's socket ``engine_path``, from
    :meth:`start` until :meth:`close` (a context manager does both)."""

    def __init__(self, path: Path | str, engine_path: str = "/var/run/docker.sock") -> None:
        self.path = str(path)
        self.engine_path = engine_path
        self._relaying = threading.Event()
        self._relaying.set()
        self._dropping = False
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._server = _Server(self.path, _Relay)
        self._server.proxy = self

    @property
    def host(self) -> str:
        """The ``DOCKER_HOST`` value that reaches the engine through the proxy."""
        return f"unix://{self.path}"

    def start(self) -> EngineProxy:
        # close() waits for the loop's next poll: 0.05 s, not the default 0.5 s
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stall(self) -> None:
        """Stop relaying: requests get no answer (nothing is closed)."""
        self._relaying.clear()

    def drop(self) -> None:
        """Close every open connection, and each new one, until :meth:`resume`."""
        self._dropping = True
        with self._lock:
            for sock in list(self._open):
                _cut(sock)

    def resume(self) -> None:
        """Relay again (what a stall held goes on)."""
        self._dropping = False
        self._relaying.set()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.drop()
        self._relaying.set()  # let held relays run into their closed sockets and end
        Path(self.path).unlink(missing_ok=True)

    def __enter__(self) -> EngineProxy:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _relay(self, client: socket.socket) -> None:
        if self._dropping:
            _cut(client)
            return
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(self.engine_path)
        with self._lock:
            self._open.update((client, upstream))
        back = threading.Thread(target=self._pump, args=(upstream, client), daemon=True)
        back.start()
        self._pump(client, upstream)
        back.join()
        with self._lock:
            self._open.difference_update((client, upstream))
        upstream.close()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(_CHUNK):
                self._relaying.wait()
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            _cut(sink)


def _cut(sock: socket.socket) -> None:
    """Shut ``sock`` both ways: its peer reads the end of the stream mid-request (or a
    reset, when it had sent what was never read), as from an engine that went away."""
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    proxy: EngineProxy


class _Relay(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.proxy._relay(self.request)
