"""Phase 2, registry: the local image store holds the image the core built; no push.

``plan`` never builds, so there the image ID is the one already tagged locally, or empty
when the core would build a new image (then every replica is replaced). An image that
exists is not a change of this stack, so it is not listed in the plan.
"""

from __future__ import annotations

from deployer.errors import DeployFailed
from deployer.models import Change, NetworkResult, PhaseContext, RegistryResult


def apply(ctx: PhaseContext, network: NetworkResult | None = None) -> RegistryResult:
    """The core-built image by tag and ID (``network`` is not needed here).

    :raises DeployFailed: ``up`` without an image (the core must build it first).
    """
    image = ctx.image
    if image is None:
        raise DeployFailed("the local target needs the app image: the core builds it before the phases run")
    if not image.id and ctx.mode != "plan":
        raise DeployFailed(f"image {image.tag} has not been built")
    changes = () if image.id else (Change("create", "image", image.tag, "built by `deployer up`"),)
    return RegistryResult(image_ref=image.tag, image_id=image.id, changes=changes)
