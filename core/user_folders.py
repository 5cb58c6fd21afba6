"""Making deployer's per-user folders (:mod:`.user_cache`; the local target's state
folder) without making a home folder that is not there: system users and CI runners
often have ``HOME=/nonexistent``, and ``mkdir -p`` as root would create it."""

from __future__ import annotations

import errno
from pathlib import Path


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
