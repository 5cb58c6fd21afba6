"""Phase 2, registry: push the core-built image to ECR, referenced by digest.

Creates: an ECR repository (scan on push, immutable tags, force-delete as configured),
a lifecycle policy that keeps the last ``keep_images`` images, a docker provider
authenticated with an ECR token, a local ``docker.Tag`` of the core's image (its image
ID) as ``<repo_url>:<content hash>-<image ID>`` (:func:`image_tag`), and a
``docker.RegistryImage`` that pushes it (pulumi-docker's generated classes).

The tag is derived from the image, so an unchanged app means unchanged inputs: Pulumi
neither re-tags nor re-pushes. ``image_ref`` is ``<repo_url>@sha256:...``, so a new
image always changes the task definition and ECS always rolls out the new one.

A rollback (``ctx.image.reference`` set: an image already in the repository) pushes
nothing: ``image_ref`` is that reference, ``image_id`` is empty (that image's local ID
is not known), and the push resources are declared for the image pushed last
(``ctx.image``'s content hash and ID, the ``pushed_*`` outputs, see
:func:`.releases.rollback_image`), unchanged, since ECR refuses to push a tag of an
immutable repository twice and the next ``up`` would have to push it again.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from deployer.errors import DeployFailed
from deployer.models import Image, NetworkResult, PhaseContext, RegistryResult
from deployer.plugins.aws_ecs import settings as aws_settings


def create(ctx: PhaseContext, network: NetworkResult) -> RegistryResult:
    """Create the repository and push ``ctx.image``; ``extra`` holds ``repository_url``."""
    if ctx.image is None:
        raise DeployFailed("aws-ecs pushes the image the core builds, but no image was given")
    cfg = aws_settings.of(ctx)
    app = ctx.app.name
    repo = aws.ecr.Repository(
        f"{app}-repo",
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration={"scan_on_push": True},
        force_delete=cfg.force_delete_repository,
    )
    aws.ecr.LifecyclePolicy(f"{app}-repo-lifecycle", repository=repo.name, policy=lifecycle_policy(cfg.keep_images))

    token = aws.ecr.get_authorization_token_output(registry_id=repo.registry_id)
    ecr = docker.Provider(
        f"{app}-ecr",
        registry_auth=[
            {
                "address": token.proxy_endpoint,
                "username": token.user_name,
                "password": pulumi.Output.secret(token.password),
            }
        ],
    )
    source = ctx.image.id or ctx.image.tag
    tagged = docker.Tag(
        f"{app}-image-tag",
        source_image=source,
        target_image=pulumi.Output.concat(repo.repository_url, ":", image_tag(ctx.image)),
        opts=pulumi.ResourceOptions(provider=ecr),
    )
    pushed = docker.RegistryImage(
        f"{app}-image",
        name=tagged.target_image,
        keep_remotely=True,
        triggers={"image_id": source},
        opts=pulumi.ResourceOptions(provider=ecr),
    )
    return RegistryResult(
        image_ref=ctx.image.reference or pulumi.Output.concat(repo.repository_url, "@", pushed.sha256_digest),
        image_id="" if ctx.image.reference else ctx.image.id,  # a rollback's local image ID is not known
        extra={
            "repository_url": repo.repository_url,
            "pushed_content_hash": ctx.image.content_hash,
            "pushed_image_id": ctx.image.id,
        },
    )


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


def lifecycle_policy(keep: int) -> str:
    """An ECR lifecycle policy document that expires all but the newest ``keep`` images."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"keep the last {keep} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
                    "action": {"type": "expire"},
                }
            ]
        }
    )
