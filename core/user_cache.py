"""deployer's per-user cache folder, ``$XDG_CACHE_HOME/deployer`` (default
``~/.cache/deployer``): what can be thrown away at any time (an image's user ID, the
lock files of image builds)."""

from __future__ import annotations

import os
from pathlib import Path


def folder(*parts: str) -> Path:
    """``parts`` joined under the cache folder (nothing is created)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base.joinpath("deployer", *parts)
