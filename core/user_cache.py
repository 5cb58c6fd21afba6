"""deployer's per-user cache folder, ``$XDG_CACHE_HOME/deployer`` (default
``~/.cache/deployer``): what can be thrown away at any time (an image's user ID, the
lock files of image builds)."""

from __future__ import annotations

from pathlib import Path

from deployer.user_folders import xdg_base


def folder(*parts: str) -> Path:
    """``parts`` joined under the cache folder (nothing is created)."""
    return xdg_base("XDG_CACHE_HOME", ".cache").joinpath("deployer", *parts)
