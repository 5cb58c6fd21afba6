"""The load balancer's image: HAProxy from Debian's package, built here, offline, from
``lb_base_image``, once per machine (its tag is a hash of what it is built from)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from deployer import docker_labels
from deployer.docker_engine import STREAM_TIMEOUT, DockerEngine
from deployer.errors import ConfigError, DeployFailed
from deployer.plugins.local_docker import engine
from deployer.plugins.local_docker.haproxy_config import BOOTSTRAP, CONFIG_DIR, CONFIG_FILE, LISTEN_PORT
from deployer.plugins.local_docker.settings import LocalSettings

_DOCKERFILE = f"""\
FROM {{base}}
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy \\
 && rm -rf /var/lib/apt/lists/* \\
 && mkdir -p {CONFIG_DIR} && chown haproxy:haproxy {CONFIG_DIR}
COPY --chown=haproxy:haproxy haproxy.cfg {CONFIG_FILE}
LABEL {docker_labels.ROLE}={engine.ROLE_LB_IMAGE}
USER haproxy
EXPOSE {LISTEN_PORT}
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "{CONFIG_FILE}"]
"""


def lb_image_tag(settings: LocalSettings) -> str:
    """``deployer/local-lb:<hash>``: the hash covers the Dockerfile and bootstrap config."""
    text = _DOCKERFILE.format(base=settings.lb_base_image) + BOOTSTRAP
    return f"deployer/local-lb:{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def require_base_image(
    docker: DockerEngine, settings: LocalSettings, containers: list[dict[str, Any]], mode: str
) -> None:
    """Before ``up`` or ``plan`` builds anything: when the load balancer image is not built
    yet (no container of ``containers`` runs it and the image store lacks it), its base
    ``lb_base_image`` must be in the image store, else for ``up`` pullable (pulled here),
    for ``plan`` known to its registry (asked, not pulled).

    :raises ConfigError: names ``targets.local.lb_base_image`` and the ways out (exit 2).
    """
    tag = lb_image_tag(settings)
    base = settings.lb_base_image
    if any(row.get("Image") == tag for row in containers) or docker.image(tag) or docker.image(base):
        return
    try:
        if mode == "up":
            docker.patient(STREAM_TIMEOUT).pull(base)
        else:
            docker.patient(STREAM_TIMEOUT).inspect_distribution(base)
    except docker.errors.APIError:
        raise ConfigError(
            "targets.local.lb_base_image",
            "is not in the Docker engine's image store and cannot be pulled: the load balancer image is built "
            "from it. Load or pull it (docker pull / docker load), or leave the key out for python:3.12-slim "
            "(scripts/base-image.sh builds that offline)",
            value=base,
        ) from None


def ensure_lb_image(docker: DockerEngine, settings: LocalSettings, report: Callable[[str], None]) -> str:
    """The load balancer image's tag, built first when the engine does not have it.

    :raises DeployFailed: the build failed (no base image, no Debian mirror).
    """
    tag = lb_image_tag(settings)
    if docker.image(tag) is not None:
        return tag
    report(f"building the load balancer image {tag} (HAProxy from Debian packages)")
    context = engine.tar({"Dockerfile": _DOCKERFILE.format(base=settings.lb_base_image), "haproxy.cfg": BOOTSTRAP})
    try:
        docker.sdk.images.build(
            fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True, pull=False, timeout=STREAM_TIMEOUT
        )
    except (docker.errors.BuildError, docker.errors.APIError) as error:
        raise DeployFailed(
            f"building the load balancer image from {settings.lb_base_image} failed: {error}. "
            "It needs that image locally (scripts/base-image.sh builds python:3.12-slim) "
            "and apt-get access to a Debian mirror"
        ) from error
    return tag
