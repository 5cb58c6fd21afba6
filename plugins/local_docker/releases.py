"""The local target's release history: one small labelled volume per release.

Volumes, because Docker labels cannot change after an object is created and a volume is
the cheapest labelled object that survives containers being replaced: a release is
written once (``<prefix>-history-<n>``, role ``release``, the ``dev.deployer.release*``
labels of :mod:`deployer.docker_labels`) and read back with one labelled listing. ``down``
removes them with the stack's other volumes. Only the newest :data:`KEEP_RECORDS` are kept.
"""

from __future__ import annotations

import contextlib

from attrs import evolve

from deployer import docker_labels, releases
from deployer.docker_engine import DockerEngine
from deployer.errors import UsageError
from deployer.image import KEEP_IMAGES
from deployer.models import Image, PhaseContext
from deployer.plugins.local_docker import compute, engine
from deployer.plugins.local_docker.settings import of
from deployer.releases import Release

ROLE_RELEASE = "release"
"""A release record (a volume holding nothing but its labels)."""
KEEP_RECORDS = 50
"""Release records kept per stack; older ones are removed when a new one is recorded."""


def config_hash(ctx: PhaseContext) -> str:
    """A hash of what replicas are made from, without the image (:func:`compute.spec_hash`
    of the :func:`compute.fingerprint` with no image ID): equal across checkouts of the same
    config on one machine (secret values enter keyed with the machine's key)."""
    return compute.spec_hash(compute.fingerprint(ctx, "", of(ctx)))[:12]


def listing(docker: DockerEngine, ctx: PhaseContext, *, check_images: bool = False) -> list[Release]:
    """The stack's releases, oldest first; ``current`` set on the serving one and, with
    ``check_images``, ``image_present`` from one image listing."""
    rows = docker.volumes(engine.selector(ctx, ROLE_RELEASE))
    found = []
    for row in rows:
        labels = row.get("Labels") or {}
        try:
            number = int(labels.get(docker_labels.RELEASE, ""))
        except ValueError:
            continue
        found.append(
            Release(
                number=number,
                image=labels.get(docker_labels.RELEASE_IMAGE, ""),
                image_id=labels.get(docker_labels.RELEASE_IMAGE_ID, ""),
                config_hash=labels.get(docker_labels.RELEASE_CONFIG_HASH, ""),
                created=labels.get(docker_labels.RELEASE_CREATED, ""),
                by=labels.get(docker_labels.RELEASE_BY, ""),
                status=labels.get(docker_labels.RELEASE_STATUS, releases.DEPLOYED),
                note=labels.get(docker_labels.RELEASE_NOTE, ""),
            )
        )
    found.sort(key=lambda r: r.number)
    serving = releases.current(found)
    present: set[str] = set()
    if check_images:
        present = {i["Id"] for i in docker.images({"label": [f"{docker_labels.APP}={ctx.app.name}"]})}
    return [
        evolve(
            r,
            current=serving is not None and r.number == serving.number,
            image_present=(r.image_id in present) if check_images else None,
        )
        for r in found
    ]


def record(docker: DockerEngine, ctx: PhaseContext, *, status: str, known: list[Release]) -> Release | None:
    """Record this run's release (under the stack's lock) unless it deployed exactly what
    the current release runs (a rollback to the image and config serving now included:
    it only started what was missing); returns it (None when nothing was recorded)."""
    image = ctx.image
    if image is None:
        return None
    digest = config_hash(ctx)
    note = releases.current_note()
    serving = releases.current(known)
    if (
        status == releases.DEPLOYED
        and serving is not None
        and known[-1].number == serving.number
        and (serving.image_id, serving.config_hash) == (image.id, digest)
    ):
        return None
    number = (known[-1].number if known else 0) + 1
    release = Release(
        number=number,
        image=image.tag,
        image_id=image.id,
        config_hash=digest,
        created=releases.now(),
        by=releases.who(),
        status=status,
        note=note,
    )
    docker.api.create_volume(
        f"{engine.prefix(ctx)}-history-{number}",
        labels=engine.labels(
            ctx,
            ROLE_RELEASE,
            **{
                docker_labels.RELEASE: str(number),
                docker_labels.RELEASE_IMAGE: release.image,
                docker_labels.RELEASE_IMAGE_ID: release.image_id,
                docker_labels.RELEASE_CONFIG_HASH: digest,
                docker_labels.RELEASE_CREATED: release.created,
                docker_labels.RELEASE_BY: release.by,
                docker_labels.RELEASE_STATUS: status,
                docker_labels.RELEASE_NOTE: note,
            },
        ),
    )
    for old in known[: max(len(known) + 1 - KEEP_RECORDS, 0)]:
        with contextlib.suppress(docker.errors.APIError):
            docker.api.remove_volume(f"{engine.prefix(ctx)}-history-{old.number}", force=True)
    return release


def rollback_image(docker: DockerEngine, release: Release) -> Image:
    """The image of ``release``, from the local image store, to deploy again without
    building, found by its ID (as ``releases`` says it is present) and tagged again when
    its tag was removed by hand (``docker rmi -f`` leaves an image a container uses); a
    :class:`UsageError` (exit 2) when it was removed."""
    found = docker.image(release.image_id) if release.image_id else None
    if found is None:
        raise UsageError(
            f"release {release.number} cannot be rolled back to: its image {release.image} was removed "
            f"from the local image store. Builds keep the newest {KEEP_IMAGES} images of an app, any image "
            f"a container uses, and the images of the current release and the {releases.ROLLBACK_DEPTH} before "
            "it, which can be rolled back to; `deployer releases` shows which. Run `deployer up` to deploy the "
            "working tree instead."
        )
    repository, _, content = release.image.rpartition(":")
    tagged = docker.image(release.image)
    if tagged is None or tagged["Id"] != found["Id"]:
        docker.api.tag(found["Id"], repository, content)
    return Image(repository, content, found["Id"], (found.get("Config") or {}).get("User") or "")
