"""aws-ecs releases: the revisions of the app's ECS task definition family, read from ECS.

A release is a revision of the family ``<app>-<stack>`` (:func:`family`): every ``up``
that changes what the tasks run (image, env, secrets, command, size, roles) makes Pulumi
register a new revision, and a rollback registers one too. The revisions live in the AWS
account, so any checkout, any machine with the credentials, lists the same history;
deregistered (INACTIVE) revisions stay readable ("INACTIVE task definitions remain
discoverable in your account indefinitely":
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeregisterTaskDefinition.html).

Each release reads, from its revision: the number (the revision), the image (the
container's ``<repository>@sha256:<digest>``), the config hash (of the revision without
the image), and from the tags the driver puts on it after the rollout
(:func:`record`, :func:`mark_failed`): when, by whom (``user@host``), the status and the
note (``rollback to N``). ``current`` is the revision the ECS service runs now (after a
circuit-breaker rollback, the previous one); a revision newer than it with no status tag
did not take, so it is listed ``failed``. ``image_present`` asks ECR whether the digest
is still there (``BatchGetImage``).

The ECR lifecycle policy keeps ``keep_images`` images (:data:`.settings.KEEP_IMAGES` by
default); a rollback pushes nothing, so the current release's image and those of at
least ``keep_images - 1`` earlier releases with other images can be rolled back to
(:func:`rollback_depth`).

Only boto3 clients are passed in: nothing here imports pulumi, and the emulated driver
runs the same code against moto. The tags are written after Pulumi registered the
revision, so the task definition ignores changes to its tags (``compute.py``): a
refresh would otherwise make the next ``up`` remove them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from attrs import evolve
from botocore.exceptions import BotoCoreError, ClientError

from deployer import releases
from deployer.errors import DeployFailed, UsageError
from deployer.models import Image, PhaseContext
from deployer.plugins.aws_ecs import health
from deployer.plugins.aws_ecs import settings as aws_settings
from deployer.releases import Release

TAG_CREATED = "deployer-release-created"
TAG_BY = "deployer-release-by"
TAG_STATUS = "deployer-release-status"
TAG_NOTE = "deployer-release-note"
TAG_IMAGE_USER = "deployer-image-user"
"""The image's ``USER``, for ``rollback``'s non-root check (the revision does not say)."""
TAG_IMAGE_VOLUMES = "deployer-image-volumes"
"""The image's ``VOLUME`` paths, space-separated."""
TAG_IMAGE_ID = "deployer-image-id"
"""The image's local ID (``sha256:...``, what the core built), which the digest does not say."""
TAG_IMAGE_CONTENT = "deployer-image-content"
"""The content hash of the image's build (its local tag's)."""

LISTED = 50
"""The newest revisions ``releases`` reads (one ``DescribeTaskDefinition`` each)."""

_TAG_VALUE = re.compile(r"[^\w\s+\-=.:/@]")
"""Characters an ECS tag value may not hold (allowed: letters, digits, spaces and
``_ . : / = + - @``; at most 256 characters:
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html)."""
_DOCKER_ARCHITECTURE = {"X86_64": "amd64", "ARM64": "arm64"}


def family(ctx: PhaseContext) -> str:
    """The task definition family of the app and stack."""
    return f"{ctx.app.name}-{ctx.stack}"


def rollback_depth(keep_images: int) -> int:
    """How many releases with other images before the current one can be rolled back to,
    at least, when ECR keeps ``keep_images`` images (a rollback pushes none)."""
    return keep_images - 1


def tag_value(text: str) -> str:
    """``text`` as an ECS tag value: disallowed characters as ``_``, at most 256."""
    return _TAG_VALUE.sub("_", text)[:256]


def _revisions(ecs: Any, name: str) -> list[tuple[int, str]]:
    """(revision, ARN) of the family's ACTIVE and INACTIVE revisions, oldest first."""
    found = []
    for status in ("ACTIVE", "INACTIVE"):
        pages = ecs.get_paginator("list_task_definitions").paginate(familyPrefix=name, status=status)
        for page in pages:
            for arn in page["taskDefinitionArns"]:
                own, _, number = arn.rsplit("/", 1)[-1].rpartition(":")
                if own == name:
                    found.append((int(number), arn))
    return sorted(found)


def _describe(ecs: Any, arn: str) -> tuple[dict[str, Any], dict[str, str]]:
    answer = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    return answer["taskDefinition"], {t["key"]: t["value"] for t in answer.get("tags", [])}


def serving(ecs: Any, outputs: Mapping[str, Any]) -> str | None:
    """The task definition ARN the stack's ECS service runs now; None when there is none."""
    if "cluster" not in outputs or "service" not in outputs:
        return None
    found = ecs.describe_services(cluster=outputs["cluster"], services=[outputs["service"]])["services"]
    active = [s for s in found if s.get("status") != "INACTIVE"]
    return active[0]["taskDefinition"] if active else None


def image_of(definition: Mapping[str, Any]) -> str:
    """The image reference of a revision's first (the app's) container."""
    return str(definition["containerDefinitions"][0]["image"])


def config_hash(definition: Mapping[str, Any]) -> str:
    """A hash of what a revision runs, without the image: its containers (image left
    out), size, platform, roles and volumes."""
    containers = [{k: v for k, v in c.items() if k != "image"} for c in definition["containerDefinitions"]]
    keys = ("cpu", "memory", "runtimePlatform", "executionRoleArn", "taskRoleArn", "volumes", "networkMode")
    return releases.config_hash({"containers": containers, **{k: definition.get(k) for k in keys}})


def present(ecr: Any, references: Sequence[str]) -> set[str]:
    """The references (``<registry>/<repository>@sha256:...``) whose digest ECR still holds."""
    wanted: dict[str, set[str]] = {}
    for reference in references:
        location, _, digest = reference.partition("@")
        if digest and "/" in location:
            wanted.setdefault(location.split("/", 1)[1], set()).add(digest)
    kept: set[tuple[str, str]] = set()
    for repository, digests in wanted.items():
        ordered = sorted(digests)
        for start in range(0, len(ordered), 100):  # BatchGetImage takes at most 100 image IDs
            ids = [{"imageDigest": d} for d in ordered[start : start + 100]]
            try:
                images = ecr.batch_get_image(repositoryName=repository, imageIds=ids)["images"]
            except ecr.exceptions.RepositoryNotFoundException:
                break
            kept |= {(repository, image["imageId"]["imageDigest"]) for image in images}
    return {r for r in references if (r.partition("@")[0].split("/", 1)[-1], r.partition("@")[2]) in kept}


def image_tag(image: Image) -> str:
    """The ECR tag of ``image``: ``<content hash>-<12 hex of the image ID>``.

    The repository's tags are immutable and Docker builds are not reproducible: the same
    content rebuilt elsewhere (a fresh CI runner, after a prune) has another image ID and
    digest. A tag of the content hash alone would then be pushed again with the new
    digest, which ECR rejects (``ImageTagAlreadyExistsException``), and the app could
    never be deployed again from that machine. The image ID makes the tag unique per image.
    """
    short_id = (image.id or "").removeprefix("sha256:")[:12]
    return f"{image.content_hash}-{short_id}" if short_id else image.content_hash


def pushed(ecr: Any, repository_url: str, tag: str) -> str | None:
    """The reference (``<repository_url>@sha256:...``) of the image ECR holds under ``tag``
    in the repository at ``repository_url``; None when it holds none (or no such repository)."""
    repository = repository_url.split("/", 1)[-1]
    try:  # BatchGetImage, as releases reads: a pull permission the deploy role has (not DescribeImages)
        found = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])["images"]
    except ecr.exceptions.RepositoryNotFoundException:
        return None
    return f"{repository_url}@{found[0]['imageId']['imageDigest']}" if found else None


def with_pushed_image(ecr: Any, ctx: PhaseContext, outputs: Mapping[str, Any]) -> PhaseContext:
    """``ctx`` with its image's ECR reference set when the stack's repository (the stack
    ``outputs``' ``repository_url``) already holds it under its tag and the stack's push
    resources push another (``pushed_tag``): an earlier release pushed it, before a
    rollback or before the code went back to it. The registry phase then pushes nothing,
    which an immutable repository would refuse even for the same digest. Unchanged for a
    rollback's image, before the first ``up``, for the image the push resources push
    (they stay as they are), or when ECR lacks it."""
    image, url = ctx.image, outputs.get("repository_url")
    if image is None or image.reference or not image.id or not url:
        return ctx
    tag = image_tag(image)
    found = None if outputs.get("pushed_tag") == tag else pushed(ecr, str(url), tag)
    if found is None:
        return ctx
    ctx.report(f"aws-ecs: image {tag} is in ECR already: not pushing it again")
    return evolve(ctx, image=evolve(image, reference=found))


def listing(ecs: Any, ecr: Any, ctx: PhaseContext, outputs: Mapping[str, Any]) -> list[Release]:
    """The stack's releases, oldest first (the newest :data:`LISTED`), ``current`` and
    ``image_present`` set."""
    now = serving(ecs, outputs)
    serving_number = _number(now) if now else None
    rows = [(number, *_describe(ecs, arn)) for number, arn in _revisions(ecs, family(ctx))[-LISTED:]]
    kept = present(ecr, [image_of(definition) for _, definition, _ in rows])
    found = []
    for number, definition, tags in rows:
        image = image_of(definition)
        status = tags.get(TAG_STATUS) or (
            releases.FAILED if serving_number is not None and number > serving_number else releases.DEPLOYED
        )
        found.append(
            Release(
                number=number,
                image=image,
                image_id=image.partition("@")[2],
                config_hash=config_hash(definition),
                created=tags.get(TAG_CREATED) or _time(definition.get("registeredAt")),
                by=tags.get(TAG_BY) or str(definition.get("registeredBy") or ""),
                status=status,
                note=tags.get(TAG_NOTE, ""),
                current=number == serving_number,
                image_present=image in kept,
            )
        )
    return found


def _number(task_definition: str) -> int:
    """The revision in a task definition ARN or ``family:revision``."""
    return int(task_definition.rsplit(":", 1)[1])


def _time(value: Any) -> str:
    return value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else str(value or "")


def _release_tags(ctx: PhaseContext, status: str) -> list[dict[str, str]]:
    image = ctx.image
    values = {
        TAG_CREATED: releases.now(),
        TAG_BY: releases.who(),
        TAG_STATUS: status,
        TAG_NOTE: releases.current_note(),
        TAG_IMAGE_USER: image.user if image else "",
        TAG_IMAGE_VOLUMES: " ".join(image.volumes) if image else "",
        TAG_IMAGE_ID: image.id if image else "",
        TAG_IMAGE_CONTENT: image.content_hash if image else "",
    }
    return [{"key": k, "value": tag_value(v)} for k, v in values.items()]


def record(ecs: Any, ctx: PhaseContext, outputs: Mapping[str, Any]) -> None:
    """After a rollout that succeeded: tag the revision the service runs as a release
    (time, ``user@host``, status, :func:`deployer.releases.current_note`, the image's user
    and volumes) unless it already is one (nothing changed), and say so; say too when
    it replaces a rollback (the newest deployed release before it has a ``rollback``
    note). Best effort: the rollout succeeded, so a refused read or tag is reported,
    not raised."""
    try:
        arn = serving(ecs, outputs)
        if arn is None or TAG_STATUS in _describe(ecs, arn)[1]:
            return
        ecs.tag_resource(resourceArn=arn, tags=_release_tags(ctx, releases.DEPLOYED))
        number = _number(arn)
        before = _deployed_before(ecs, ctx, number)
    except (BotoCoreError, ClientError) as exc:
        ctx.report(f"aws-ecs: could not record the release ({exc})")
        return
    note = releases.current_note()
    if not note and before is not None and before[1].startswith("rollback"):
        ctx.report(f"release {number}: deployed the working tree again (replacing release {before[0]}, a {before[1]})")
    else:
        ctx.report(f"release {number} recorded" + (f" ({note})" if note else ""))


def _deployed_before(ecs: Any, ctx: PhaseContext, number: int) -> tuple[int, str] | None:
    """The number and note of the newest release before ``number`` tagged deployed."""
    for earlier, arn in reversed(_revisions(ecs, family(ctx))[-LISTED:]):
        if earlier < number:
            tags = _describe(ecs, arn)[1]
            if tags.get(TAG_STATUS) == releases.DEPLOYED:
                return earlier, tags.get(TAG_NOTE, "")
    return None


def wait_and_record(
    ecs: Any,
    elbv2: Any,
    ctx: PhaseContext,
    outputs: Mapping[str, Any],
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    """After ``pulumi up`` (or the emulator's): wait for the rollout with
    :func:`.health.wait_for_outputs`, then :func:`record` the release, or
    :func:`mark_failed` and re-raise when it failed."""
    try:
        health.wait_for_outputs(ecs, elbv2, outputs, ctx, clock=clock, sleep=sleep)
    except DeployFailed:
        mark_failed(ecs, ctx, outputs)
        raise
    record(ecs, ctx, outputs)


def mark_failed(ecs: Any, ctx: PhaseContext, outputs: Mapping[str, Any]) -> None:
    """After a rollout that failed: tag the family's newest revision ``failed`` unless the
    service runs it or it is already tagged. Best effort: the failure being reported
    matters more, and :func:`listing` calls an untagged revision newer than the serving
    one failed anyway."""
    try:
        revisions = _revisions(ecs, family(ctx))
        now = serving(ecs, outputs)
        if not revisions or (now is not None and revisions[-1][0] == _number(now)):
            return
        arn = revisions[-1][1]
        if TAG_STATUS not in _describe(ecs, arn)[1]:
            ecs.tag_resource(resourceArn=arn, tags=_release_tags(ctx, releases.FAILED))
    except (BotoCoreError, ClientError) as exc:  # reading or tagging failed: report it beside the failure
        ctx.report(f"aws-ecs: could not record the failed release ({exc})")


def rollback_image(ecs: Any, ecr: Any, ctx: PhaseContext, release: Release, outputs: Mapping[str, Any]) -> Image:
    """The image to run for ``release``: its ECR reference (``Image.reference``: nothing
    is pushed), with the image's user, volumes, architecture, local ID and content hash
    from its revision (the ID and hash empty for a release recorded before deployer kept
    them).

    :raises UsageError: the digest is gone from ECR; the stack's state is not here (its
        outputs); or the release was deployed without the tags that say its image's user.
    """
    if not present(ecr, [release.image]):
        keep = aws_settings.of(ctx).keep_images
        raise UsageError(
            f"release {release.number} cannot be rolled back to: its image {release.image} is no longer in "
            f"ECR. The repository's lifecycle policy keeps the newest {keep} images ([targets.aws-ecs] "
            f"keep_images), so the current release and at least the {rollback_depth(keep)} before it with "
            "other images can be rolled back to; `deployer releases` shows which. Run `deployer up` to "
            "deploy the working tree instead."
        )
    if not outputs:
        raise UsageError(
            f"stack {ctx.stack} has no Pulumi state here, so a rollback cannot update it: roll back from the "
            "checkout that deployed it, or share the state between checkouts ([targets.aws-ecs] backend_url)"
        )
    definition, tags = _describe(ecs, f"{family(ctx)}:{release.number}")
    if TAG_IMAGE_USER not in tags:
        raise UsageError(
            f"release {release.number} was not recorded by deployer (its revision has no {TAG_IMAGE_USER} tag), "
            "so its image's user cannot be checked: roll back to a release `deployer releases` shows with a "
            "user@host"
        )
    architecture = (definition.get("runtimePlatform") or {}).get("cpuArchitecture", "")
    return Image(
        repository=outputs.get("repository_url") or ctx.app.name,
        content_hash=tags.get(TAG_IMAGE_CONTENT, ""),
        id=tags.get(TAG_IMAGE_ID, ""),
        user=tags[TAG_IMAGE_USER],
        architecture=_DOCKER_ARCHITECTURE.get(architecture, ""),
        os="linux",
        volumes=tuple(tags.get(TAG_IMAGE_VOLUMES, "").split()),
        reference=release.image,
    )
