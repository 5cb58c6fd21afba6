"""Merging log lines from several replicas: one ordered stream, ``--since``-filtered.

A driver reads each replica's lines with their timestamps (RFC 3339 / ISO 8601 text, as
Docker and CloudWatch give them) and hands them here::

    return merge([lines_of(replica) for replica in replicas], since=since)
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from operator import itemgetter

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


def merge(streams: Iterable[Iterable[LogLine]], *, since: datetime | None = None) -> Iterator[LogLine]:
    """Every line of ``streams`` oldest first, lazily: each stream is one replica's lines in
    the order it wrote them (as Docker and CloudWatch give them), and only one line per
    stream is held at a time. Equal times keep the order of ``streams``. A line without a
    readable timestamp keeps its place after the line before it in its stream; with
    ``since`` (an aware datetime) only lines at or after it are kept, and a line without
    a readable timestamp is dropped, since it cannot be placed in time."""
    timed = (_placed(stream, since) for stream in streams)
    return (line for _, line in heapq.merge(*timed, key=itemgetter(0)))


def _placed(stream: Iterable[LogLine], since: datetime | None) -> Iterator[tuple[datetime, LogLine]]:
    """``stream``'s lines after ``since`` (all when None), each with its time: its own, or
    the time of the line before it when it has none."""
    last = _NEVER
    for line in stream:
        when = moment(line.timestamp)
        if since is not None and (when is None or when < since):
            continue
        last = when or last
        yield last, line
