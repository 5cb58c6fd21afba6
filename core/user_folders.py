"""deployer's per-user folders (:mod:`.user_cache`; the local target's state folder):
where the XDG Base Directory spec puts them, and making them without making a home folder
that is not there (system users and CI runners often have ``HOME=/nonexistent``, and
``mkdir -p`` as root would create it)."""

from __future__ import annotations

import errno
import os
from pathlib import Path


def xdg_base(variable: str, *default: str) -> Path:
    """``$<variable>`` (``XDG_STATE_HOME``, ``XDG_CACHE_HOME``), else ``~/<default>``. A
    relative value is ignored, as the spec says ("If an implementation encounters a relative
    path in any of these variables it should consider the path invalid and ignore it":
    https://specifications.freedesktop.org/basedir-spec/latest/), so the folder, and the
    locks in it, do not depend on the current folder."""
    value = os.environ.get(variable, "")
    return Path(value) if os.path.isabs(value) else Path.home().joinpath(*default)


def make_folder(path: Path) -> None:
    """``mkdir -p path``, but only below a home folder that exists.

    :raises FileNotFoundError: ``path`` is below the home folder, which does not exist
        (its ``filename`` is the home folder).
    :raises OSError: the folder cannot be made.
    """
    home = Path.home()
    if path.is_relative_to(home) and not home.is_dir():
        raise FileNotFoundError(errno.ENOENT, "the home folder does not exist", str(home))
    path.mkdir(parents=True, exist_ok=True)
