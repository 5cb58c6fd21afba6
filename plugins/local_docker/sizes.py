"""The sizes the local engine can run: the local target's ``check_app``.

Docker refuses a memory limit under 6 MiB, and byte or CPU counts that overflow its
64-bit fields, but only when a container is created: after the image was built and,
for a worker, after the web service had rolled out. ``check_app`` refuses them first.
A ``cpu`` above the engine's CPU count is allowed: the limit is a CFS quota, which then
means the whole machine, so an app sized for Fargate runs on a smaller laptop.
"""

from __future__ import annotations

from typing import Any

from deployer.errors import ConfigError, ConfigErrors
from deployer.models import AppSpec

MEMORY_MIN = 6
"""MiB: the smallest memory limit Docker accepts ("Minimum memory limit allowed is 6MB")."""
MEMORY_MAX = 8 * 1024 * 1024
"""MiB (8 TiB): more than any machine has; a larger value overflows Docker's byte count."""
CPU_MAX = 1024 * 1024
"""Units (1,024 CPUs): more than any machine has; a larger value overflows Docker's quota."""


def check_app(app: AppSpec, settings: Any = None) -> None:
    """The local target's ``check_app``: every memory within what Docker accepts.

    :raises ConfigErrors: names each key (``app.memory``, ``workers.<name>.memory``).
    """
    errors = []
    for key, memory, cpu in _sizes(app):
        if not MEMORY_MIN <= memory <= MEMORY_MAX:
            allowed = f"Docker accepts {MEMORY_MIN} to {MEMORY_MAX} MiB"
            errors.append(ConfigError(f"{key}.memory", f"is outside what {allowed}", value=memory))
        if cpu > CPU_MAX:
            errors.append(ConfigError(f"{key}.cpu", f"is more than {CPU_MAX // 1024} CPUs", value=cpu))
    if errors:
        raise ConfigErrors(errors)


def _sizes(app: AppSpec) -> list[tuple[str, int, int]]:
    """(key, memory, cpu) of the web service and of each worker."""
    return [("app", app.memory, app.cpu), *((f"workers.{w.name}", w.memory, w.cpu) for w in app.workers)]
