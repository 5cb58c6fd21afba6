"""The sizes the local engine can run: the local target's ``check_app``.

Docker refuses a memory limit under 6 MiB, and byte or CPU counts that overflow its
64-bit fields, but only when a container is created: after the image was built and,
for a worker, after the web service had rolled out. Linux refuses to start a process
whose environment has a variable over 128 KiB, or is too large in total ("argument list
too long"), only when the container starts. ``check_app`` refuses them first.
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
ENV_VARIABLE_MAX = 128 * 1024
"""Bytes of one ``NAME=value`` string with its terminating NUL: Linux's ``MAX_ARG_STRLEN``
(32 pages of 4 KiB; execve(2), "Limits on size of arguments and environment")."""
ENV_TOTAL_MAX = 1024 * 1024
"""Bytes of ``[app.env]`` in all: half of the 2 MiB Linux allows a program's arguments and
environment together under the default 8 MiB stack (a quarter of it), leaving the rest to
the image's own ``ENV``, the secrets and the command."""


def check_app(app: AppSpec, settings: Any = None) -> None:
    """The local target's ``check_app``: every memory and cpu within what Docker accepts,
    and ``[app.env]`` within what Linux starts a process with.

    :raises ConfigErrors: names each key (``app.memory``, ``workers.<name>.cpu``,
        ``app.env.<NAME>``, ``app.env``).
    """
    errors = _env_problems(app)
    for key, memory, cpu in _sizes(app):
        if not MEMORY_MIN <= memory <= MEMORY_MAX:
            allowed = f"Docker accepts {MEMORY_MIN} to {MEMORY_MAX} MiB"
            errors.append(ConfigError(f"{key}.memory", f"is outside what {allowed}", value=memory))
        if cpu > CPU_MAX:
            errors.append(ConfigError(f"{key}.cpu", f"is more than {CPU_MAX // 1024} CPUs", value=cpu))
    if errors:
        raise ConfigErrors(errors)


def _env_problems(app: AppSpec) -> list[ConfigError]:
    """What Linux would refuse of ``[app.env]`` at the container's start."""
    sizes = {name: len(f"{name}={value}".encode()) + 1 for name, value in app.env.items()}
    errors = [
        ConfigError(
            f"app.env.{name}",
            f"is {size:,} bytes with its name, over the {ENV_VARIABLE_MAX:,} Linux allows one environment "
            "variable: put large data in a file in the image or a volume",
        )
        for name, size in sizes.items()
        if size > ENV_VARIABLE_MAX
    ]
    if sum(sizes.values()) > ENV_TOTAL_MAX:
        errors.append(
            ConfigError(
                "app.env",
                f"holds {sum(sizes.values()):,} bytes, over the {ENV_TOTAL_MAX:,} deployer allows in all (Linux "
                "refuses a process a larger environment with its arguments): put large data in files",
            )
        )
    return errors


def _sizes(app: AppSpec) -> list[tuple[str, int, int]]:
    """(key, memory, cpu) of the web service and of each worker."""
    return [("app", app.memory, app.cpu), *((f"workers.{w.name}", w.memory, w.cpu) for w in app.workers)]
