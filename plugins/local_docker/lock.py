"""One ``up`` or ``down`` at a time per app and stack: an advisory file lock.

The lock file lives under the per-user state folder (``$XDG_STATE_HOME/deployer/locks``,
default ``~/.local/state/deployer/locks``) and holds the owner's PID. The kernel releases
the lock when its owner exits, even when killed, so a crashed run never blocks the next.

The lock is reentrant in the thread that holds it: the core takes it around the image
build and the driver's ``up`` (:meth:`LocalDriver.lock <.driver.LocalDriver.lock>`), and
the driver's ``up`` and ``down`` take it again, which then costs nothing. Another thread
or process waits.
"""

from __future__ import annotations

import fcntl
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from deployer.errors import DeployFailed, EnvironmentProblem
from deployer.plugins.local_docker import user_state

_held = threading.local()
"""Per thread: ``paths``, the lock files this thread holds, each with its depth."""


def lock_path(app: str, stack: str) -> Path:
    """Where the lock of ``app`` and ``stack`` lives: ``local-<app>.<stack>.lock`` (the dot
    occurs in neither, so two pairs never share a file)."""
    return user_state.folder() / "locks" / f"local-{app}.{stack}.lock"


@contextmanager
def stack_lock(app: str, stack: str, *, timeout: float, report: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock of ``app`` and ``stack``, waiting up to ``timeout`` seconds for it.
    Entered again by the thread holding it, it returns at once.

    :raises DeployFailed: another run still held it after ``timeout``; names its PID.
    :raises EnvironmentProblem: the lock file cannot be one (a folder, a FIFO there).
    """
    path = lock_path(app, stack)
    depths: dict[Path, int] = _held.__dict__.setdefault("paths", {})
    if depths.get(path):
        depths[path] += 1
        try:
            yield
        finally:
            depths[path] -= 1
        return
    user_state.make_private(path.parent)
    fd = _open(path)
    try:
        deadline = time.monotonic() + timeout
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                if time.monotonic() >= deadline:
                    raise DeployFailed(
                        f"another deployer run on app {app!r}, stack {stack!r} (pid {holder}) still holds "
                        f"{path} after {timeout:.0f} s (lock_timeout): wait for it to finish, then retry"
                    ) from None
                if not announced:
                    report(f"waiting for another deployer run on {app}/{stack} (pid {holder}) to finish")
                    announced = True
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        depths[path] = 1
        try:
            yield
        finally:
            del depths[path]
    finally:
        os.close(fd)


def _open(path: Path) -> int:
    """The lock file, opened (made when missing); a folder or a special file there is an
    :class:`EnvironmentProblem` naming it (exit 2), not an unexpected error."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK, 0o600)
    except OSError as error:
        raise user_state.unusable(error) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise EnvironmentProblem(f"the lock file {path} is not a regular file: remove it, then retry")
    return fd
