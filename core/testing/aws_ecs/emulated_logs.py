"""A running container's output, shipped to moto's CloudWatch Logs as the awslogs driver would.

The emulator's service tasks (:mod:`.emulated_serving`) run for long; their lines are
shipped incrementally (:func:`ship_new_lines`), each with the time Docker recorded for it
(``docker logs --timestamps``), so ``logs --since`` filters them as in AWS.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from deployer import docker_engine


def ship_new_lines(aws: Any, container: str, stream: tuple[str, str], shipped: int) -> int:
    """Put the container's output lines after the first ``shipped`` into the ``(group,
    stream)`` log stream (created on the first lines); the number of lines shipped now.
    A container already gone, or a log group already deleted (``down`` deletes it before
    the service), loses its unshipped lines, as in AWS."""
    try:
        raw = docker_engine.connect().api.logs(container, stdout=True, stderr=True, timestamps=True)
    except Exception:  # the container is gone: what it printed was shipped before
        return shipped
    lines = raw.decode(errors="replace").splitlines()[shipped:]
    if not lines:
        return shipped
    group, name = stream
    events = sorted((_event(line) for line in lines), key=lambda e: e["timestamp"])
    try:
        if shipped == 0:
            with contextlib.suppress(aws.logs.exceptions.ResourceAlreadyExistsException):
                aws.logs.create_log_stream(logGroupName=group, logStreamName=name)
        for batch in _batches([e for e in events if e["message"]]):  # CloudWatch takes no empty message
            aws.logs.put_log_events(logGroupName=group, logStreamName=name, logEvents=batch)
    except aws.logs.exceptions.ResourceNotFoundException:
        pass
    return shipped + len(lines)


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z (.*)$")


def _event(line: str) -> dict[str, Any]:
    """A ``docker logs --timestamps`` line as a CloudWatch Logs event (time in ms)."""
    found = _STAMP.match(line)
    if found is None:
        return {"timestamp": int(time.time() * 1000), "message": line}
    fraction = (found.group(2) or ".0")[:7]
    moment = datetime.fromisoformat(f"{found.group(1)}{fraction}+00:00")
    return {"timestamp": int(moment.timestamp() * 1000), "message": found.group(3)}


BATCH_EVENTS, BATCH_BYTES, EVENT_OVERHEAD = 10_000, 1_048_576, 26
"""PutLogEvents' limits: at most 10,000 events and 1,048,576 bytes a batch, each event
counting its UTF-8 message plus 26 bytes
(https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html)."""


def _batches(events: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """``events`` cut into batches PutLogEvents accepts (:data:`BATCH_EVENTS`, :data:`BATCH_BYTES`)."""
    batch: list[dict[str, Any]] = []
    size = 0
    for event in events:
        cost = len(event["message"].encode()) + EVENT_OVERHEAD
        if batch and (len(batch) == BATCH_EVENTS or size + cost > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += cost
    if batch:
        yield batch
