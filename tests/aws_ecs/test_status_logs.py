"""``status`` and ``logs`` read AWS through boto3; here against moto."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from itertools import islice

import pytest

from deployer.models import ExpressedSpec
from deployer.plugins.aws_ecs import logs
from deployer.plugins.aws_ecs.health import live_status


def test_status_reports_endpoint_rollout_and_healthy_targets(deployed):
    session, outputs = deployed
    status = live_status(session.client("ecs"), session.client("elbv2"), target="aws-ecs", stack="dev", outputs=outputs)
    assert status.deployed and status.endpoint == outputs["endpoint"]
    assert (status.healthy, status.desired) == (2, 2)
    assert (status.degraded, status.advice) == (False, "")
    assert status.image == outputs["image_ref"]
    assert status.details["rollout"] == "COMPLETED"
    assert status.details["task_definition"] == outputs["task_definition"]
    assert status.details["rolled_back"] is None
    assert status.spec == ExpressedSpec(
        image_id=outputs["image_id"],
        port=8000,
        env_names=("LOG_LEVEL",),
        health_path="/healthz",
        cpu=256,
        memory=512,
        replicas=2,
        command=("gunicorn", "app:create_app()"),
    )


@pytest.fixture
def log_group(deployed, request) -> str:
    """A log group of this test's own next to the stack's (``deployed`` is shared by the
    module): the events a test writes are the only ones it reads."""
    session, outputs = deployed
    group = f"{outputs['log_group']}/{request.node.name}"
    session.client("logs").create_log_group(logGroupName=group)
    return group


def _put(session, group, stream, *messages, now: float | None = None):
    """``messages`` one second apart in a new ``stream``, the last one second before ``now``."""
    client = session.client("logs")
    client.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int((time.time() if now is None else now) * 1000)
    client.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now - 1000 * (len(messages) - i), "message": m} for i, m in enumerate(messages)],
    )


def test_logs_yield_lines_oldest_first_named_by_task(deployed, log_group):
    session, _ = deployed
    _put(session, log_group, "web/web/task1", "booting\n", "listening on 8000\n")
    lines = list(logs.read(session.client("logs"), log_group))
    assert [(line.source, line.text) for line in lines] == [("task1", "booting"), ("task1", "listening on 8000")]
    assert lines[0].timestamp < lines[1].timestamp


def test_logs_follow_yields_new_lines_once(deployed, log_group):
    session, group = deployed[0], log_group
    _put(session, group, "web/web/task1", "first")
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 1:
            _put(session, group, "web/web/task2", "second")

    lines = islice(logs.read(session.client("logs"), group, follow=True, sleep=sleep), 2)
    assert [line.text for line in lines] == ["first", "second"]


def test_logs_since_a_moment_skips_older_events(deployed, log_group):
    session, group = deployed[0], log_group
    now = time.time()  # one clock for the events and the cutoff, however long the calls take
    _put(session, group, "web/web/task1", "old", "new", now=now)  # "new" 1 s before now, "old" 2 s
    cutoff = datetime.fromtimestamp(now - 1.5, UTC)
    assert [line.text for line in logs.read(session.client("logs"), group, since=cutoff)] == ["new"]
