"""Bounded HTTP load on a loopback URL, for tests that change a deployment under traffic."""

from __future__ import annotations

import threading
import time
from collections import Counter

import attrs


@attrs.define
class Traffic:
    """GET requests to one loopback URL from a few threads until stopped, counting
    answers by body and failures by reason. Bounded: it stops by itself after ``limit``
    seconds or ``max_requests`` requests (None: no count limit), whichever comes first;
    ``pause`` seconds between one thread's requests keeps the rate modest. ``bounded``
    says whether a bound, not the test, stopped it (then the block outlasted the load).

    ``with Traffic(url) as traffic: ...`` runs it for the block."""

    url: str
    threads: int = 4
    limit: float = 120
    max_requests: int | None = None
    pause: float = 0.0
    bodies: Counter = attrs.field(factory=Counter)
    failures: Counter = attrs.field(factory=Counter)
    bounded: bool = False
    _sent: int = 0
    _lock: threading.Lock = attrs.field(factory=threading.Lock)
    _stop: threading.Event = attrs.field(factory=threading.Event)
    _workers: list[threading.Thread] = attrs.field(factory=list)

    def __enter__(self) -> Traffic:
        assert self.url.startswith("http://127.0.0.1:"), "load goes to loopback only"
        self._workers = [threading.Thread(target=self._loop, daemon=True) for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.5)
        self._stop.set()
        for worker in self._workers:
            worker.join()

    def _take(self) -> bool:
        """Count one more request, unless a bound is reached."""
        with self._lock:
            if self.max_requests is not None and self._sent >= self.max_requests:
                self.bounded = True
                return False
            self._sent += 1
            return True

    def _loop(self) -> None:
        import requests

        deadline = time.monotonic() + self.limit
        while not self._stop.is_set():
            if time.monotonic() >= deadline:
                self.bounded = True
                return
            if not self._take():
                return
            try:
                response = requests.get(self.url, timeout=10)
            except requests.RequestException as error:
                self._count(self.failures, type(error).__name__)
            else:
                if response.status_code == 200:
                    self._count(self.bodies, response.text.strip())
                else:
                    self._count(self.failures, f"HTTP {response.status_code}")
            if self.pause:
                self._stop.wait(self.pause)

    def _count(self, counter: Counter, key: str) -> None:
        with self._lock:
            counter[key] += 1

    @property
    def total(self) -> int:
        return sum(self.bodies.values()) + sum(self.failures.values())
