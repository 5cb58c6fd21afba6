"""``deployer up --watch``: deploy, then rebuild and roll out whenever the build context
changes, until Ctrl-C.

Changes are found by polling the image's content hash (:func:`deployer.image.content_hash`,
the same hash that names the image: the build context after ``.dockerignore``, modes,
the Dockerfile, the build args) every :data:`INTERVAL` seconds: no dependency, no inotify
limits, and exactly the files Docker would receive (an edit to an ignored file never
triggers a rollout). A change is deployed once the hash has stayed the same for
:data:`SETTLE` seconds (an editor saving several files, a ``git checkout``), so a burst
of saves is one rollout.

Every rollout is an ordinary ``up`` (zero-downtime, recorded as a release). A build that
fails, or a new version that fails its health check, is reported and the last good
version keeps serving; the next change is tried again. Ctrl-C stops watching and leaves
the deployment running (a rollout it interrupts removes its unregistered replicas, as
``up`` does).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from deployer import api
from deployer.errors import ConfigError, DeployerError
from deployer.image import content_hash
from deployer.models import BuildSpec

INTERVAL = 0.5
"""Seconds between two content hashes of the build context."""
SETTLE = 0.5
"""Seconds the context must stay unchanged before a change is deployed."""


def watch(
    session: api.Session,
    environ: Mapping[str, str] | None = None,
    *,
    interval: float = INTERVAL,
    settle: float = SETTLE,
    sleep: Callable[[float], None] = time.sleep,
    rounds: int | None = None,
) -> int:
    """Deploy, then redeploy on every settled change; returns the number of successful
    rollouts when Ctrl-C stops it (or after ``rounds`` changes, for tests)."""
    report = session.reporter.line
    build = session.project.app.build
    deployed = 0
    try:
        seen = _hash(build, report)
        deployed += _attempt(session, environ)
        report(f"watching {build.context} for changes (Ctrl-C stops watching; the deployment keeps running)")
        changes = 0
        while rounds is None or changes < rounds:
            sleep(interval)
            now = _hash(build, report)
            if now is None or now == seen:
                continue
            while True:  # settle: the same hash twice, ``settle`` apart
                sleep(settle)
                again = _hash(build, report)
                if again == now:
                    break
                now = again
            seen, changes = now, changes + 1
            report(f"change detected in {build.context}: building and rolling out")
            deployed += _attempt(session, environ)
    except KeyboardInterrupt:
        report("stopped watching; the deployment keeps running (the last good version serves)")
    return deployed


def _hash(build: BuildSpec, report: Callable[[str], None]) -> str | None:
    try:
        return content_hash(build)
    except ConfigError as exc:  # e.g. the Dockerfile is being replaced
        report(f"cannot read the build context: {exc}")
        return None


def _attempt(session: api.Session, environ: Mapping[str, str] | None) -> int:
    """One ``up`` of the build context as it is now; a failure is reported, not raised:
    the last good version keeps serving. The line on success names the image ``up``
    built, which a change made while it ran may have moved past the hash the watch saw."""
    try:
        deployment = api.up(session, environ)
    except DeployerError as exc:
        first, _, rest = str(exc).partition("\n")
        session.reporter.line(f"not deployed: {first}")
        for line in rest.splitlines():
            session.reporter.line(f"  {line}")
        session.reporter.line("the last good version keeps serving; waiting for the next change")
        return 0
    session.reporter.line(f"serving {deployment.endpoint} ({deployment.image})")
    return 1
