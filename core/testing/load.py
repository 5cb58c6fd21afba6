"""A bounded load loop on a loopback URL, for the contract's checks that change a
deployment while it serves (standard-library HTTP, no dependency)."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from types import TracebackType
from urllib.parse import urlsplit

from deployer.verify import is_loopback


class LoadLoop:
    """GET ``url`` from ``threads`` threads while the ``with`` block runs, counting answers
    by body and failures by reason (a connection error, a timeout or an error status).

    Bounded: it stops by itself after ``seconds`` or ``max_requests`` requests, whichever
    comes first (``bounded`` says a bound, not the block, stopped it); ``pause`` seconds
    between one thread's requests keeps the rate modest. Loopback URLs only, asked
    directly whatever proxy the environment names.
    """

    def __init__(
        self, url: str, *, threads: int = 2, seconds: float = 300, max_requests: int = 5000, pause: float = 0.02
    ):
        if not is_loopback(urlsplit(url).hostname or ""):
            raise ValueError(f"load goes to loopback addresses only, not {url!r}")
        self.url = url
        self.threads, self.seconds, self.max_requests, self.pause = threads, seconds, max_requests, pause
        self.bodies: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.last_body = ""
        self.bounded = False
        self._sent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy reaches loopback

    @property
    def sent(self) -> int:
        return self._sent

    def __enter__(self) -> LoadLoop:
        self._deadline = time.monotonic() + self.seconds
        self._workers = [threading.Thread(target=self._loop, daemon=True) for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()
        time.sleep(0.3)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        time.sleep(0.3)
        self._stop.set()
        for worker in self._workers:
            worker.join()

    def _take(self) -> bool:
        with self._lock:
            if self._sent >= self.max_requests or time.monotonic() > self._deadline:
                self.bounded = True
                return False
            self._sent += 1
            return True

    def _loop(self) -> None:
        while not self._stop.is_set() and self._take():
            try:
                with self._opener.open(self.url, timeout=5) as response:
                    body = response.read(4096).decode(errors="replace").strip()
                with self._lock:
                    self.bodies[body] += 1
                    self.last_body = body
            except urllib.error.HTTPError as error:
                with self._lock:
                    self.failures[f"status {error.code}"] += 1
            except OSError as error:
                with self._lock:
                    self.failures[type(error).__name__ + ": " + str(getattr(error, "reason", error))] += 1
            time.sleep(self.pause)
