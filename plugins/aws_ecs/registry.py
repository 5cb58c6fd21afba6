"""Phase 2, registry: push the core-built image to ECR, referenced by digest.

Creates: an ECR repository (scan on push, immutable tags, force-delete as configured),
a lifecycle policy that keeps the last ``keep_images`` images, a docker provider
authenticated with an ECR token, a local ``docker.Tag`` of the core's image (its image
ID) as ``<repo_url>:<content hash>-<image ID>`` (:func:`.releases.image_tag`), and a
``docker.RegistryImage`` that pushes it (pulumi-docker's generated classes).

The tag is derived from the image, so an unchanged app means unchanged inputs: Pulumi
neither re-tags nor re-pushes. ``image_ref`` is ``<repo_url>@sha256:...``, so a new
image always changes the task definition and ECS always rolls out the new one.

An image already in the repository that these push resources did not push
(``ctx.image.reference`` set: a rollback, or an ``up`` of an image an earlier release
pushed, which the driver looks up by its tag) is not pushed again, and no push resource
is declared for it: ECR refuses a second push of a tag to an immutable repository even
with the same digest. ``image_ref`` is then that reference; ``image_id`` stays
``ctx.image.id`` (a rollback's: the one its release recorded). ``extra["pushed_tag"]``
(a stack output) names the tag the push resources push, when there are any.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from deployer.errors import DeployFailed
from deployer.models import NetworkResult, PhaseContext, RegistryResult
from deployer.plugins.aws_ecs import settings as aws_settings
from deployer.plugins.aws_ecs.releases import image_tag


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
    extra = {"repository_url": repo.repository_url}
    if ctx.image.reference:
        return RegistryResult(image_ref=ctx.image.reference, image_id=ctx.image.id, extra=extra)
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
    image_ref = pulumi.Output.concat(repo.repository_url, "@", pushed.sha256_digest)
    return RegistryResult(
        image_ref=image_ref, image_id=ctx.image.id, extra={**extra, "pushed_tag": image_tag(ctx.image)}
    )


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
