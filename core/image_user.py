"""Which user an image runs as: its ``USER`` as the numeric user ID the kernel sees.

``USER 10001``, ``USER 0000`` and ``USER +0`` are numbers (Docker reads them so: the last
two are root). A name is looked up in the image's own ``/etc/passwd``, as Docker does when
it starts a container: ``USER app`` may be any ID, 0 included (``useradd -o -u 0``). That
file is only readable through a container of the image, so the lookup creates one (never
started), copies the file out and removes it, once per image: the answer is kept under
``$XDG_CACHE_HOME/deployer/image-uids/`` by image ID (an image never changes), so an
unchanged ``up`` asks the engine nothing more.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

from deployer import user_cache
from deployer.docker_engine import DockerEngine


def user_id(client: DockerEngine, image_id: str, user: str) -> int | None:
    """The user ID the image ``image_id`` runs as, given its ``USER`` (``name[:group]``,
    empty: root); None when a name is not in its ``/etc/passwd`` (Docker then refuses to
    start it) or the file cannot be read."""
    name = user.split(":")[0]
    if name in ("", "root"):
        return 0
    number = _number(name)
    if number is not None:
        return number
    cached = _cache_file(image_id)
    if cached.is_file():
        return _number(cached.read_text().strip())
    found = _look_up(client, image_id, name)
    if found is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(str(found))
    return found


def _number(text: str) -> int | None:
    """``text`` as a decimal user ID (``0000``, ``+0`` included), else None."""
    try:
        return int(text, 10)
    except ValueError:
        return None


def _look_up(client: DockerEngine, image_id: str, name: str) -> int | None:
    """``name``'s user ID in the image's ``/etc/passwd``, read through a container that is
    created, never started, and removed."""
    api: Any = client.api
    created = api.create_container(image_id, entrypoint=["/nonexistent"], network_disabled=True)
    try:
        try:
            chunks, _ = api.get_archive(created["Id"], "/etc/passwd")
            archive = b"".join(chunks)
        except client.errors.NotFound:
            return None
    finally:
        api.remove_container(created["Id"], force=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = next((m for m in tar.getmembers() if m.isfile()), None)
        extracted = tar.extractfile(member) if member is not None else None
        text = extracted.read().decode(errors="replace") if extracted is not None else ""
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) > 2 and fields[0] == name:
            return _number(fields[2])
    return None


def _cache_file(image_id: str) -> Path:
    return user_cache.folder("image-uids", image_id.removeprefix("sha256:"))
