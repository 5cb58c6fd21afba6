"""The app image, built once by the core and shared by every target.

Images are content-addressed: the tag is ``deployer/<app>:<hash>`` where the hash covers
exactly what Docker receives (the build context after ``.dockerignore``, file modes, the
Dockerfile, the build args). An unchanged app therefore never reaches Docker's builder,
and every target runs the same image ID.

Images belong to the project that built them (:data:`~deployer.docker_labels.PROJECT`,
:func:`project_id`): pruning and :func:`remove_images` only touch images of one project
and app, so two projects whose apps share a name keep each other's images.

An unchanged app costs a content hash and one image lookup
(:mod:`deployer.docker_engine`); the docker SDK is imported only to build.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import stat
from collections import deque
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from attrs import evolve

from deployer import docker_engine, docker_labels, user_cache
from deployer.docker_engine import DockerEngine
from deployer.dockerignore import context_paths, read_patterns
from deployer.errors import BuildError, ConfigError, EnvironmentProblem, UsageError
from deployer.image_probe import NO_SHELL, NO_TOOL, probe_tool
from deployer.image_user import user_id
from deployer.models import AppSpec, BuildSpec, Image, Project, user_number
from deployer.user_folders import make_folder

KEEP_IMAGES = 3
"""How many images of one app :func:`build_image` keeps (the one just built included)."""
HASH_LENGTH = 16
"""Hex digits of the content hash used in tags (64 bits)."""

_HASH_VERSION = b"deployer-image-hash-v1\0"
_IMAGE_NAME = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAIL_LINES = 15
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the legacy builder colours a step's stderr


# --- content hash -------------------------------------------------------------------------


def content_hash(build: BuildSpec) -> str:
    """A hex digest of everything that determines the image built from ``build``.

    Covers each path Docker would send (the context minus ``.dockerignore`` matches, with
    Docker's own pattern semantics), its type, permission bits and content (symlink
    targets for links), plus the Dockerfile and the build args (sorted). Ignores
    modification times and owners, which do not change the image.

    :raises ConfigError: the context folder or the Dockerfile does not exist, or a file
        Docker would be sent cannot be read.
    """
    root = Path(build.context)
    if not root.is_dir():
        raise ConfigError("app.build.context", "is not a folder", value=str(root))
    dockerfile = root / build.dockerfile
    if not dockerfile.is_file():
        raise ConfigError("app.build.dockerfile", f"no such file in {root}", value=build.dockerfile)

    digest = hashlib.sha256(_HASH_VERSION)
    try:
        content = dockerfile.read_bytes()
    except OSError as error:
        problem = f"cannot be read: {error.strerror or error}"
        raise ConfigError("app.build.dockerfile", problem, value=build.dockerfile) from None
    try:
        _feed(digest, "dockerfile", content)
        _feed(digest, "args", json.dumps(dict(build.args), sort_keys=True).encode())
        for relative in sorted(context_paths(root, read_patterns(root), dockerfile=build.dockerfile)):
            _feed_path(digest, root, relative)
    except OSError as error:  # a file deployer may not read; /proc as a context
        where = error.filename or root
        problem = f"cannot read {where}: {error.strerror or error} (exclude it in .dockerignore, or fix its mode)"
        raise ConfigError("app.build.context", problem, value=str(root)) from None
    return digest.hexdigest()[:HASH_LENGTH]


def _feed(digest: Any, kind: str, data: bytes) -> None:
    digest.update(f"{kind}\0{len(data)}\0".encode())
    digest.update(data)


def _feed_path(digest: Any, root: Path, relative: str) -> None:
    path = root / relative
    info = os.lstat(path)
    # names as the file system's bytes: a name that is not UTF-8 is hashed too
    header = os.fsencode(relative) + f"\0{stat.S_IMODE(info.st_mode):o}\0".encode()
    if stat.S_ISLNK(info.st_mode):
        _feed(digest, "link", header + os.fsencode(os.readlink(path)))
    elif stat.S_ISDIR(info.st_mode):
        _feed(digest, "dir", header)
    elif stat.S_ISREG(info.st_mode):
        _feed(digest, "file", header)
        with open(path, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    # sockets, FIFOs and devices are not sent by the docker SDK either


# --- naming -------------------------------------------------------------------------------


def project_id(config_file: Path) -> str:
    """The value of :data:`~deployer.docker_labels.PROJECT` for a project: a hash of its
    config file's resolved path (the same file gives the same id; moving it gives another)."""
    return hashlib.sha256(str(Path(config_file).resolve()).encode()).hexdigest()[:HASH_LENGTH]


def repository(app: AppSpec) -> str:
    """The local repository of ``app``'s images: ``deployer/<app.name>``.

    :raises ConfigError: the app name cannot be part of an image name.
    """
    if not _IMAGE_NAME.fullmatch(app.name):
        raise ConfigError(
            "app.name",
            "must be lowercase letters and digits, separated by '-', '_' or '.', to name an image",
            value=app.name,
        )
    return f"deployer/{app.name}"


# --- Docker -------------------------------------------------------------------------------


def resolve_image(app: AppSpec, *, client: DockerEngine | None = None) -> Image:
    """The image ``app`` would run, without building: tag from the content hash, ``id``
    filled only when an image with that tag already exists. Used by ``plan``.

    Without ``client``, an unreachable Docker engine is not an error here: the ``id`` is
    left empty, so an offline plan works on a machine with no Docker at all.
    """
    image = Image(repository(app), content_hash(app.build))
    if client is None:
        try:
            client = docker_engine.connect()
        except EnvironmentProblem:
            return image
    return _existing(client, image, app.env.get("PATH")) or image


def build_image(
    app: AppSpec,
    *,
    report: Callable[[str], None],
    client: DockerEngine | None = None,
    project: str | None = None,
) -> Image:
    """Return ``app``'s image, building it only when no image has its content-hash tag
    (the image returned is then ``built``).

    A build streams each output line to ``report`` and labels the image with
    :data:`~deployer.docker_labels.APP` and, given ``project`` (a :func:`project_id`),
    :data:`~deployer.docker_labels.PROJECT`, the label :func:`prune_images` selects by.

    :raises BuildError: the build failed; names the failing Dockerfile step and carries
        the last output lines.
    :raises EnvironmentProblem: the Docker engine is not reachable.
    """
    client = client or docker_engine.connect()
    image, path = Image(repository(app), content_hash(app.build)), app.env.get("PATH")
    existing = _existing(client, image, path)
    if existing:
        report(f"image {image.tag} is up to date ({existing.id[:19]})")
        return existing
    with _building(image.tag, report):
        existing = _existing(client, image, path)  # another process built it while this one waited
        if existing:
            report(f"image {image.tag} is up to date ({existing.id[:19]}): built meanwhile")
            return existing
        report(f"building {image.tag} from {app.build.context}")
        _build(client, app, image, report, project)
        found = _existing(client, image, path)
    if found is None:
        raise BuildError(f"Docker reported success but no image is tagged {image.tag}")
    return evolve(found, built=True)


@contextmanager
def _building(tag: str, report: Callable[[str], None]) -> Iterator[None]:
    """Hold the machine-wide lock of building ``tag``: two builds of the same content (two
    stacks, or two projects with one app name) never run at once, so the second finds the
    first's image instead of tagging its own over it, which a stack deployed from the
    first would then see as a changed image. A cache folder or file system that cannot
    hold the lock (an NFS home without locks) builds without it."""
    path = user_cache.folder("build-locks", tag.replace("/", "_").replace(":", "_") + ".lock")
    try:
        make_folder(path.parent)
        handle = open(path, "a")  # noqa: SIM115 - held until the build ends
    except OSError:
        yield
        return
    with handle:
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                report(f"waiting for another build of {tag} on this machine")
                fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:  # no locks here (ENOLCK): build without
            pass
        yield


def prune_images(
    app_name: str, *, project: str, keep: int, protect: Collection[str] = (), client: DockerEngine
) -> list[str]:
    """Untag the images of ``app_name`` built by ``project`` (by
    :data:`~deployer.docker_labels.APP` and :data:`~deployer.docker_labels.PROJECT`) beyond
    the newest ``keep``.

    Skips ``protect`` (image IDs), images a container uses (running or stopped), and
    any image Docker refuses to remove. Only tags in the app's own repository are removed,
    so an image also tagged elsewhere (a registry tag) keeps that tag. Returns one line
    per image removed or skipped.
    """
    old = [i for i in _project_images(client, app_name, project)[keep:] if i["Id"] not in protect]
    return _untag(client, app_name, old, "old image")


def remove_images(app_name: str, *, project: str, client: DockerEngine) -> list[str]:
    """Untag every image of ``app_name`` built by ``project`` (``deployer down --images``),
    skipping those a container uses and those Docker refuses to remove. Returns one line
    per image removed or skipped."""
    return _untag(client, app_name, _project_images(client, app_name, project), "image")


def _project_images(client: DockerEngine, app_name: str, project: str) -> list[dict[str, Any]]:
    """The images of ``app_name`` built by ``project`` with a tag in the app's repository,
    newest first."""
    labels = [f"{docker_labels.APP}={app_name}", f"{docker_labels.PROJECT}={project}"]
    own = f"deployer/{app_name}:"
    images = [i for i in client.images({"label": labels}) if any(t.startswith(own) for t in i.get("RepoTags") or ())]
    images.sort(key=lambda i: i["Created"], reverse=True)
    return images


def discard_image(app_name: str, image: Image, *, client: DockerEngine, keep_steps: bool = False) -> list[str]:
    """Untag ``image`` from the app's repository unless a container uses it; with
    ``keep_steps``, keeping the layers of its build steps (the build cache of the next,
    fixed, build of the same Dockerfile); one line saying which."""
    found = client.image(image.tag)
    return _untag(client, app_name, [found], "image", keep_steps=keep_steps) if found else []


def _untag(
    client: DockerEngine, app_name: str, images: list[dict[str, Any]], what: str, *, keep_steps: bool = False
) -> list[str]:
    """Untag each of ``images`` from the app's repository, unless a container uses it;
    with ``keep_steps``, its untagged parent layers (the legacy builder's step cache) stay."""
    if not images:
        return []
    own = f"deployer/{app_name}:"
    in_use = {c.get("ImageID") for c in client.containers()}
    lines = []
    for old in images:
        tags = [t for t in old["RepoTags"] if t.startswith(own)]
        if old["Id"] in in_use:
            lines.append(f"kept {what} {', '.join(tags)}: a container uses it")
            continue
        try:
            for tag in tags:
                client.api.remove_image(tag, noprune=keep_steps)
        except client.errors.APIError as error:
            lines.append(f"kept {what} {', '.join(tags)}: {error.explanation or error}")
        else:
            lines.append(f"removed {what} {', '.join(tags)}")
    return lines


def _existing(client: DockerEngine, image: Image, path: str | None) -> Image | None:
    """``image`` with its ID, USER, platform, volumes and health-check tool (found on
    ``path``, the ``PATH`` the app's env sets, else on the image's own) when an image
    with its tag exists, else None."""
    found = client.image(image.tag)
    if found is None:
        return None
    user = (found.get("Config") or {}).get("User") or ""
    uid = user_id(client, found["Id"], user)
    return evolve(
        image,
        id=found["Id"],
        user=user,
        uid=uid,
        user_missing=uid is None,
        probe=probe_tool(client, found, path),
        architecture=found.get("Architecture") or "",
        os=found.get("Os") or "",
        volumes=tuple(sorted((found.get("Config") or {}).get("Volumes") or {})),
    )


def require_deployable(project: Project, image: Image) -> None:
    """Refuse an image that runs as root unless the config allows it (``app.allow_root``),
    one whose ``USER`` name its ``/etc/passwd`` lacks (no container of it can start), and
    one the container health check cannot run in (no ``/bin/sh``, or none of python3,
    curl and wget: :mod:`deployer.image_probe`).

    :raises UsageError: names the Dockerfile (or the config file, for its key) and the
        ways out.
    """
    app = project.app
    dockerfile = app.build.context / app.build.dockerfile
    name = image.user.split(":")[0]
    if image.id and image.runs_as_root and not app.allow_root:
        named = image.user and image.uid == 0 and user_number(name) is None
        user = f"{image.user}, user ID 0 in the image's /etc/passwd" if named else image.user or "not set"
        raise UsageError(
            f"{dockerfile}: the image runs as root (USER {user}); add a non-root "
            "USER instruction (e.g. USER 10001) or, if it must run as root, set app.allow_root = true"
        )
    if image.user_missing:
        raise UsageError(
            f"{dockerfile}: USER {name} is not in the image's /etc/passwd, so no container of it can start; "
            f"create the user before the USER line (e.g. `RUN useradd --uid 10001 {name}`) or give USER a "
            "number (USER 10001)"
        )
    check = f"the container health check (GET {app.health.path} inside every replica, locally and on ECS)"
    if image.probe == NO_SHELL:
        raise UsageError(
            f"{dockerfile}: the image has no /bin/sh (FROM scratch or distroless), which {check} runs through, "
            "with python3, curl or wget: every replica would start, then be marked unhealthy. Add a static "
            "BusyBox, which brings sh and wget, before the USER line: `COPY --from=busybox:musl /bin/busybox "
            '/bin/busybox` and `RUN ["/bin/busybox", "--install", "-s", "/bin"]`'
        )
    if image.probe == NO_TOOL and "PATH" in app.env:
        raise UsageError(
            f"{project.config_file}: [app.env] PATH = {app.env['PATH']!r} leads to none of python3, curl and wget "
            f"in the image (built from {dockerfile}), which {check} probes with: every replica would start, then be marked "
            "unhealthy. Add the folder of one to it (python3 is often in /usr/local/bin or /usr/bin), or leave "
            "PATH out of [app.env] to keep the image's own"
        )
    if image.probe == NO_TOOL:
        raise UsageError(
            f"{dockerfile}: the image has none of python3, curl and wget on its PATH, which {check} probes with: "
            "every replica would start, then be marked unhealthy. Install one, e.g. `RUN apt-get update && "
            "apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*` (Debian, Ubuntu)"
        )


def _build(
    client: DockerEngine, app: AppSpec, image: Image, report: Callable[[str], None], project: str | None
) -> None:
    """Run Docker's (legacy) builder, streaming output, tagging the result ``image.tag``."""
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    step = ""
    # each label is one more step of the legacy builder (about 0.1 s): the content hash is
    # in the tag already
    labels = {docker_labels.APP: app.name}
    if project:
        labels[docker_labels.PROJECT] = project
    with client.faults():  # the engine stopping to answer, or closing the stream, is said so
        try:
            stream = client.watched(
                lambda: client.api.build(
                    path=str(app.build.context),
                    dockerfile=app.build.dockerfile,
                    tag=image.tag,
                    buildargs=dict(app.build.args),
                    rm=True,
                    forcerm=True,
                    pull=False,
                    decode=True,
                    labels=labels,
                    timeout=docker_engine.STREAM_TIMEOUT,  # a step may print nothing for minutes
                )
            )
            for chunk in stream:
                if "error" in chunk:
                    raise _build_error(app, image, step, chunk["error"], tail)
                text = _ANSI.sub("", str(chunk.get("stream") or chunk.get("status") or ""))
                for line in text.splitlines():
                    if line.strip():
                        step = line if line.startswith("Step ") else step
                        tail.append(line)
                        report(line)
        except client.errors.APIError as error:
            raise _build_error(app, image, step, error.explanation or str(error), tail) from error


def _build_error(app: AppSpec, image: Image, step: str, message: str, tail: deque[str]) -> BuildError:
    """The build's failure: the image and the Dockerfile it was built from, the step it
    failed at, Docker's message and the last lines of output."""
    where = f"at {step.strip()}" if step else "before the first step"
    hint = ""
    if step.split(" : ", 1)[-1].upper().startswith("FROM"):
        hint = "\nThe base image is not available locally and cannot be pulled: pull or build it first."
    shown = "".join(f"\n  | {line}" for line in tail)
    last = f"\nlast output lines:{shown}" if shown else ""
    dockerfile = app.build.context / app.build.dockerfile
    return BuildError(f"building {image.tag} from {dockerfile} failed {where}: {message.strip()}{hint}{last}")
