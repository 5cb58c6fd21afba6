"""Whether an image can run the container health check every target runs
(:mod:`deployer.healthcheck`): Docker and ECS run it through ``/bin/sh``, and it needs
python3, curl or wget on the image's ``PATH``. An image FROM scratch or distroless has
no shell; a slim one may have none of the three. Its replicas would start, serve, and
then be marked unhealthy forever (on ECS, replaced again and again).

Asked of the image itself, as the health check would find them: a container of it
(labelled, network off, the image's user, and the ``PATH`` its replicas get: the app's
``[app.env] PATH`` when it sets one, else the image's) runs ``/bin/sh -c 'command -v ...'``
and is removed. The answer depends on nothing else, so it is kept under
``$XDG_CACHE_HOME/deployer/image-probes/`` by :func:`answer_key`: the image's layers (its
file system), its user and that ``PATH``. An unchanged ``up`` asks the engine nothing
more, and images that differ only in labels or ``CMD`` (each app's build is labelled
with its name) share one answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from deployer import docker_labels, user_cache
from deployer.docker_engine import DockerEngine, config_env
from deployer.healthcheck import PROBE_TOOLS

NO_SHELL = "no /bin/sh"
NO_TOOL = "no python3, curl or wget"
ANSWER_SECONDS = 30
"""How long the lookup's container may take to answer before the question is left open."""

_SCRIPT = f'for tool in {" ".join(PROBE_TOOLS)}; do command -v "$tool" >/dev/null && {{ echo "$tool"; exit 0; }}; done; exit 3'


def probe_tool(client: DockerEngine, image: Mapping[str, Any], path: str | None = None) -> str | None:
    """The tool the health check will probe with in ``image`` (the engine's inspect
    record of it: :meth:`DockerEngine.image`): one of :data:`~deployer.healthcheck.PROBE_TOOLS`,
    :data:`NO_TOOL`, or :data:`NO_SHELL`; None when the engine cannot tell (the image
    cannot start here: another CPU architecture, say). ``path`` is the ``PATH`` the app's
    env sets over the image's (None: the image's own)."""
    cached = user_cache.folder("image-probes", answer_key(image, path))
    known = user_cache.recall(cached)
    if known in (*PROBE_TOOLS, NO_TOOL, NO_SHELL):
        return known
    found = _look_up(client, image["Id"], path)
    if found is not None:
        user_cache.keep(cached, found)
    return found


def answer_key(image: Mapping[str, Any], path: str | None) -> str:
    """What the answer for ``image`` (an inspect record) and ``path`` depends on, as one
    hash: the image's layers, its ``USER`` and the ``PATH`` the probe runs with."""
    config = image.get("Config") or {}
    if path is None:
        path = config_env(config).get("PATH", "")
    rootfs = image.get("RootFS") or {}
    layers = rootfs["Layers"] if rootfs.get("Layers") is not None else [image["Id"]]  # unsaid: the image itself
    text = "\n".join([*layers, f"USER={config.get('User') or ''}", f"PATH={path}"])
    return hashlib.sha256(text.encode()).hexdigest()


def _look_up(client: DockerEngine, image_id: str, path: str | None) -> str | None:
    api: Any = client.api
    created = api.create_container(
        image_id,
        entrypoint=["/bin/sh", "-c", _SCRIPT],
        command=[],
        environment=None if path is None else {"PATH": path},
        network_disabled=True,
        labels={docker_labels.ROLE: "probe-lookup"},
    )
    try:
        try:
            api.start(created["Id"])
        except client.errors.APIError as error:  # the runtime could not run /bin/sh
            said = str(error.explanation or error)
            return NO_SHELL if '"/bin/sh"' in said and "no such file" in said else None
        code: int = api.wait(created["Id"], timeout=ANSWER_SECONDS)["StatusCode"]
        found: str = api.logs(created["Id"], stdout=True, stderr=False).decode(errors="replace").strip()
    except client.errors.DockerException:
        return None
    except OSError:  # no answer within ANSWER_SECONDS
        return None
    finally:
        api.remove_container(created["Id"], force=True, v=True)
    if code == 0 and found in PROBE_TOOLS:
        return found
    return NO_TOOL if code == 3 else None
