"""Releases: what each ``up`` or ``rollback`` deployed, recorded on the target itself.

A target that records releases gives its driver two optional methods (see
:class:`deployer.targets.Driver`): ``releases(ctx)`` lists them, oldest first, and its
``up`` records one per run that changed something (and one per failed rollout). The
record lives in the target's own state (the local target: one small labelled volume per
release), so any checkout of the same project, on the same engine, sees the same history.

``rollback`` redeploys a release's image without building, found by the driver's
``rollback_image`` where the target keeps images (aws-ecs: ECR, see
``deployer.plugins.aws_ecs.releases``). Locally the image must still be in the image store:
the newest :data:`~deployer.image.KEEP_IMAGES` images of an app are kept, and so are the
images of the current release and of the :data:`ROLLBACK_DEPTH` releases before it
(:func:`rollback_images`; after a rollback these are older than the newest builds), and
images a container uses.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from attrs import frozen

from deployer.image import KEEP_IMAGES

ROLLBACK_DEPTH = KEEP_IMAGES - 1
"""How many releases before the current one can be rolled back to, at least: their images
are among the :data:`~deployer.image.KEEP_IMAGES` an app's builds keep."""

DEPLOYED = "deployed"
FAILED = "failed"

_note: ContextVar[str] = ContextVar("deployer_release_note", default="")
_ROLLBACK_NOTE = "rollback to "


def rollback_note(number: int) -> str:
    """The note of the release ``rollback`` to release ``number`` records."""
    return f"{_ROLLBACK_NOTE}{number}"


@frozen
class Release:
    """One recorded release of a stack."""

    number: int
    image: str
    """The image: local, its tag ``deployer/<app>:<content hash>``; aws-ecs, its
    ``<repository>@sha256:<digest>``."""
    image_id: str
    config_hash: str
    created: str
    """ISO 8601, UTC."""
    by: str = ""
    """``user@host`` when known."""
    status: str = DEPLOYED
    note: str = ""
    """Empty for ``up``; ``rollback to N`` for a rollback."""
    current: bool = False
    """The release serving now: the newest deployed one."""
    image_present: bool | None = None
    """Whether its image is still where the target keeps images (the local image store,
    a registry); None: not checked."""

    @property
    def rolled_back_to(self) -> int | None:
        """N when this release is a rollback to release N (see :func:`rollback_note`)."""
        number = self.note.removeprefix(_ROLLBACK_NOTE)
        return int(number) if number != self.note and number.isdigit() else None


@contextmanager
def noting(text: str) -> Iterator[None]:
    """While the block runs, releases a driver records carry ``text`` as their note
    (``api.rollback`` sets ``rollback to N``)."""
    token = _note.set(text)
    try:
        yield
    finally:
        _note.reset(token)


def current_note() -> str:
    """The note of a release recorded now (see :func:`noting`)."""
    return _note.get()


def who() -> str:
    """``user@host`` of this process, or the part that is known."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    host = socket.gethostname()
    return f"{user}@{host}" if user else host


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def config_hash(spec: object) -> str:
    """A short hash of ``spec``, a JSON-ready value (what replicas are made from, without
    the image)."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:12]


def current(releases: Sequence[Release]) -> Release | None:
    """The newest deployed release (the one serving), None when there is none."""
    deployed = [r for r in releases if r.status == DEPLOYED]
    return deployed[-1] if deployed else None


def rollback_images(releases: Sequence[Release]) -> set[str]:
    """The image IDs ``rollback`` may need: the current release's, and those of the
    :data:`ROLLBACK_DEPTH` deployed releases before it that ran other images."""
    now_serving = current(releases)
    if now_serving is None:
        return set()
    found = [now_serving.image_id]
    for release in reversed(releases):
        if len(found) > ROLLBACK_DEPTH:
            break
        if release.number < now_serving.number and release.status == DEPLOYED and release.image_id not in found:
            found.append(release.image_id)
    return {image_id for image_id in found if image_id}


def previous(releases: Sequence[Release]) -> Release | None:
    """The release a plain ``rollback`` goes back to: the newest deployed release before
    the current one that ran another image (a rollback restores an image, with the
    current config: a release that differs only by its config is not one to go back to)."""
    now_serving = current(releases)
    if now_serving is None:
        return None
    for release in reversed(releases):
        if release.number >= now_serving.number or release.status != DEPLOYED:
            continue
        if release.image_id != now_serving.image_id:
            return release
    return None
