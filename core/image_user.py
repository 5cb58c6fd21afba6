"""Which user an image runs as: its ``USER`` as the numeric user ID the kernel sees.

``USER 10001``, ``USER 0000`` and ``USER +0`` are numbers, read as the container runtime
reads them (:func:`deployer.models.user_number`; the last two are root). A name is looked
up in the image's own ``/etc/passwd``, as the runtime does when it starts a container:
``USER app`` may be any ID, 0 included (``useradd -o -u 0``). That file is only readable
through a container of the image, so the lookup creates one (labelled, never started),
copies the file out (following symbolic links, as the runtime does) and removes it with
its volumes, once per image: the answer is kept under ``$XDG_CACHE_HOME/deployer/image-uids/``
by image ID (an image never changes), so an unchanged ``up`` asks the engine nothing
more. A cache folder that cannot be used only means asking again.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from typing import Any

from deployer import docker_labels, user_cache
from deployer.docker_engine import DockerEngine
from deployer.models import user_number

LINKS_FOLLOWED = 8
"""Symbolic links followed from ``/etc/passwd`` before giving up (a loop)."""


def user_id(client: DockerEngine, image_id: str, user: str) -> int | None:
    """The user ID the image ``image_id`` runs as, given its ``USER`` (``name[:group]``,
    empty: root); None when a name is not in its ``/etc/passwd`` (the runtime then
    refuses to start it) or the file cannot be read."""
    name = user.split(":")[0]
    if name in ("", "root"):
        return 0
    number = user_number(name)
    if number is not None:
        return number
    cached = user_cache.folder("image-uids", image_id.removeprefix("sha256:"))
    known = user_number(user_cache.recall(cached) or "")
    if known is not None:
        return known
    found = _look_up(client, image_id, name)
    if found is not None:
        user_cache.keep(cached, str(found))
    return found


def _look_up(client: DockerEngine, image_id: str, name: str) -> int | None:
    """``name``'s user ID in the image's ``/etc/passwd``, read through a container that is
    created, never started, and removed."""
    api: Any = client.api
    created = api.create_container(
        image_id,
        entrypoint=["/nonexistent"],
        network_disabled=True,
        labels={docker_labels.ROLE: "user-lookup"},
    )
    try:
        text = _read_file(client, created["Id"], "/etc/passwd")
    finally:
        api.remove_container(created["Id"], force=True, v=True)
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) > 2 and fields[0] == name:
            return user_number(fields[2])
    return None


def _read_file(client: DockerEngine, container: str, path: str) -> str:
    """The text of ``path`` in ``container``, through its symbolic links; empty when missing."""
    for _ in range(LINKS_FOLLOWED):
        try:
            chunks, _ = client.api.get_archive(container, path)
        except client.errors.NotFound:
            return ""
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            member = tar.getmembers()[0] if tar.getmembers() else None
            if member is None:
                return ""
            if member.issym():
                path = posixpath.normpath(posixpath.join(posixpath.dirname(path), member.linkname))
                continue
            extracted = tar.extractfile(member) if member.isfile() else None
            return extracted.read().decode(errors="replace") if extracted is not None else ""
    return ""
