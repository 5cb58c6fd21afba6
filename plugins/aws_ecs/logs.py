"""Reading the app's CloudWatch Logs with boto3, oldest first, optionally following.

Streams are named ``<prefix>/<container>/<task id>`` by the awslogs driver, so each
:class:`LogLine` names its task. Client and sleep are injected for tests (moto).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from deployer.models import LogLine


def read(
    client: Any,
    group: str,
    *,
    follow: bool = False,
    since: datetime | None = None,
    poll: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[LogLine]:
    """Yield every event of ``group`` since ``since``; with ``follow`` keep polling for
    new events (each event once) until the consumer stops iterating."""
    start = int(since.timestamp() * 1000) if since is not None else None
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
                timestamp=datetime.fromtimestamp(event["timestamp"] / 1000, UTC).isoformat(timespec="milliseconds"),
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
