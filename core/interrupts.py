"""SIGTERM handled as Ctrl-C: ``kill``, a CI runner cancelling a job or ``docker stop`` of
a container running deployer end a command as an interrupt does (its clean-up runs, one
line, exit 130), not silently."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs in the main thread, SIGTERM raises KeyboardInterrupt like Ctrl-C
    (elsewhere, where Python cannot set a signal handler, nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
