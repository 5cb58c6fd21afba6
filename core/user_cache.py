"""deployer's per-user cache folder, ``$XDG_CACHE_HOME/deployer`` (default
``~/.cache/deployer``): what can be thrown away at any time (an image's user ID and
health-check tool, the lock files of image builds)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from deployer.user_folders import make_folder, xdg_base


def folder(*parts: str) -> Path:
    """``parts`` joined under the cache folder (nothing is created)."""
    return xdg_base("XDG_CACHE_HOME", ".cache").joinpath("deployer", *parts)


def recall(path: Path) -> str | None:
    """The text kept at ``path`` (:func:`keep`), stripped; None when there is none or it
    cannot be read."""
    with contextlib.suppress(OSError):
        return path.read_text().strip()
    return None


def keep(path: Path, text: str) -> None:
    """Keep ``text`` at ``path``, written whole then renamed into place (a reader never
    sees half of it); a folder that cannot be used only means asking again next time."""
    with contextlib.suppress(OSError):
        make_folder(path.parent)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(text)
        os.replace(partial, path)
