"""Merging log lines from several replicas: one ordered stream, ``--since``-filtered.

A driver reads each replica's lines with their timestamps (RFC 3339 / ISO 8601 text, as
Docker and CloudWatch give them) and hands them here::

    return iter(merge([lines_of(replica) for replica in replicas], since=since))
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from deployer.models import LogLine

_NEVER = datetime.min.replace(tzinfo=UTC)


def moment(timestamp: str | None) -> datetime | None:
    """``timestamp`` (``2026-05-01T12:00:00.123456789Z``, any offset, fractions beyond
    microseconds ignored) as an aware datetime; None when absent or unreadable."""
    if not timestamp:
        return None
    text = timestamp.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # keep at most 6 fractional digits: Docker writes nanoseconds
        digits = len(rest) - len(rest.lstrip("0123456789"))
        rest = rest[: min(digits, 6)] + rest[digits:]
        text = f"{head}.{rest}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def merge(streams: Iterable[Iterable[LogLine]], *, since: datetime | None = None) -> list[LogLine]:
    """Every line of ``streams``, oldest first (stable for equal or missing times), keeping
    only lines at or after ``since`` (an aware datetime) when given; a line without a
    readable timestamp cannot be placed in time, so ``since`` drops it."""
    lines = [(moment(line.timestamp), line) for stream in streams for line in stream]
    if since is not None:
        lines = [(when, line) for when, line in lines if when is not None and when >= since]
    lines.sort(key=lambda pair: pair[0] or _NEVER)
    return [line for _, line in lines]
