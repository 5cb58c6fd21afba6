"""Reading the app's CloudWatch Logs with boto3, oldest first, optionally following.

Streams are named ``<prefix>/<container>/<task id>`` by the awslogs driver, so each
:class:`LogLine` names its task. Client, clock and sleep are injected for tests (moto).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from deployer.errors import UsageError
from deployer.models import LogLine

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def since_millis(since: str | None, now: float) -> int | None:
    """``since`` ("30s", "10m", "2h", "1d" or an ISO 8601 time, local time unless it names
    its zone) as epoch milliseconds."""
    if since is None:
        return None
    match = re.fullmatch(r"(\d+)([smhd])", since.strip())
    if match:
        return int((now - int(match[1]) * _UNITS[match[2]]) * 1000)
    try:
        moment = datetime.fromisoformat(since)
    except ValueError:
        raise UsageError(f"--since {since!r}: use a duration such as 10m, 2h, 1d "
                         "or an ISO time such as 2024-05-01T12:00:00") from None
    if moment.tzinfo is None:  # local time, as `docker logs --since` and the local target
        moment = moment.astimezone()
    return int(moment.timestamp() * 1000)


def read(client: Any, group: str, *, follow: bool = False, since: str | None = None,
         poll: float = 2.0, clock: Callable[[], float] = time.time,
         sleep: Callable[[float], None] = time.sleep) -> Iterator[LogLine]:
    """Yield every event of ``group`` since ``since``; with ``follow`` keep polling for
    new events (each event once) until the consumer stops iterating."""
    start = since_millis(since, clock())
    seen: set[str] = set()
    while True:
        newest = start
        for event in _events(client, group, start):
            if event["eventId"] in seen:
                continue
            seen.add(event["eventId"])
            newest = max(newest or 0, event["timestamp"])
            yield LogLine(
                source=event.get("logStreamName", "").rsplit("/", 1)[-1],
                text=event.get("message", "").rstrip("\n"),
                timestamp=datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
                .isoformat(timespec="milliseconds"),
            )
        if not follow:
            return
        start = newest
        sleep(poll)


def _events(client: Any, group: str, start: int | None) -> Iterator[dict]:
    kwargs: dict[str, Any] = {"logGroupName": group}
    if start is not None:
        kwargs["startTime"] = start
    for page in client.get_paginator("filter_log_events").paginate(**kwargs):
        yield from sorted(page.get("events", []), key=lambda e: e["timestamp"])
