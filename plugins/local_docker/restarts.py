"""How often the stack's replicas restarted, read from ``docker inspect``: what ``status``
shows of a crash loop or an out-of-memory kill, which Docker's restart policy otherwise
hides behind a replica that is running and healthy again.

Docker keeps a container's ``RestartCount`` and the time it last exited (``FinishedAt``);
its exit code and ``OOMKilled`` describe the last exit only while it is restarting (a
restart resets them), so those are shown when seen.
"""

from __future__ import annotations

from typing import Any

from deployer.docker_engine import DockerEngine
from deployer.models import PhaseContext
from deployer.plugins.local_docker import engine


def read(docker: DockerEngine, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """For each container of ``rows`` (summaries) that restarted: its name, and its
    ``restarts``, ``last_exit_at`` and, while it restarts, ``exit_code`` and
    ``out_of_memory``."""
    found = {}
    for row in rows:
        info = docker.container(row["Id"]) or {}
        count = info.get("RestartCount") or 0
        if not count:
            continue
        state = info.get("State") or {}
        seen: dict[str, Any] = {"restarts": count, "last_exit_at": state.get("FinishedAt", "")}
        if state.get("Status") == "restarting":
            seen.update(exit_code=state.get("ExitCode"), out_of_memory=bool(state.get("OOMKilled")))
        found[engine.name(row)] = seen
    return found


def notice(ctx: PhaseContext, restarted: dict[str, dict[str, Any]]) -> str:
    """One clause per restarted container, with what to do; empty when none restarted."""
    parts = []
    for name, seen in restarted.items():
        text = f"{name} restarted {seen['restarts']} time(s), last at {seen['last_exit_at'][:19]}Z"
        if seen.get("out_of_memory"):
            text += f" (killed for memory: raise [app] memory, now {ctx.app.memory} MiB)"
        elif seen.get("exit_code") is not None:
            text += f" (it exited with code {seen['exit_code']})"
        parts.append(text)
    return "; ".join(parts) + f": `{ctx.command_line('logs')}` shows why" if parts else ""
