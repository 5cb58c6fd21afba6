"""The local target's per-user state folder: ``$XDG_STATE_HOME/deployer`` (default
``~/.local/state/deployer``). It holds the key of the secrets' label fingerprints and
the stack locks, so it and every folder deployer makes in it are private (mode 0700)."""

from __future__ import annotations

import os
from pathlib import Path

from deployer.errors import EnvironmentProblem
from deployer.user_folders import make_folder, xdg_base


def folder() -> Path:
    """The state folder's path (nothing is created)."""
    return xdg_base("XDG_STATE_HOME", ".local", "state") / "deployer"


def make_private(path: Path) -> None:
    """Create ``path``, a folder in :func:`folder`, and the state folder itself when
    missing; each of them is made private (0700), one made by an earlier version too.
    The folders above the state folder are left as they are (``mkdir -p``'s modes); a
    missing home folder is not made (:func:`deployer.user_folders.make_folder`)."""
    top = folder()
    try:
        make_folder(top.parent)
        for part in (top, *reversed([p for p in path.parents if top in p.parents]), path):
            part.mkdir(mode=0o700, exist_ok=True)
            part.chmod(0o700)  # mkdir's mode is masked by the umask, and an existing folder keeps its own
    except OSError as error:
        raise unusable(error) from None


def unusable(error: OSError) -> EnvironmentProblem:
    """The state folder cannot hold deployer's files: ``error`` said why, and where."""
    where = error.filename or folder()
    reason = "a file is there, not a folder" if isinstance(error, FileExistsError | NotADirectoryError) else None
    value = os.environ.get("XDG_STATE_HOME", "")
    now = value if os.path.isabs(value) else f"{value!r}, relative, so ignored" if value else "unset"
    return EnvironmentProblem(
        f"deployer's state folder cannot be used: {where}: {reason or error.strerror or error}; set "
        f"XDG_STATE_HOME to a folder you can write (now {now}: {folder().parent})"
    )
