"""The machine-local key that keys the secret part of a replica's labels.

A replica's labels say when a secret's value changed (so ``up`` replaces the replica and
``plan`` says ``secret values``) without letting whoever reads labels confirm a guessed
secret: the secret part is an HMAC-SHA256 of each value under a random 32-byte key that
never leaves this machine. The key is created once, by the first ``up`` that deploys a
secret, at ``$XDG_STATE_HOME/deployer/secret-key`` (default
``~/.local/state/deployer/secret-key``, next to the lock files), mode 0600 in a 0700
folder. ``plan`` only reads it: without a key every secret counts as changed (:data:`NO_KEY`),
which is what the ``up`` that creates the key will find.

Deleting the key is harmless: the next ``up`` makes a new one and replaces the replicas
that carry secrets once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from deployer.errors import EnvironmentProblem
from deployer.plugins.local_docker import user_state

KEY_BYTES = 32
NO_KEY = "no-key"
"""The fingerprint ``plan`` gives every secret while no key exists: it matches no HMAC."""
FINGERPRINT_CHARS = 16
"""Hex characters of an HMAC kept in a label (64 bits)."""


def key_path() -> Path:
    """Where the key lives (:mod:`.user_state`, where the lock files are too)."""
    return user_state.folder() / "secret-key"


def load_key(*, create: bool) -> bytes | None:
    """The key; with ``create``, made first when missing (two processes racing agree on
    the first one written). None when it is missing and ``create`` is False."""
    path = key_path()
    try:
        try:
            return _read(path)
        except FileNotFoundError:
            if not create:
                return None
        user_state.make_private(path.parent)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)  # atomic, and fails when another process made it first
        except FileExistsError:
            pass
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        return _read(path)
    except OSError as error:  # a folder where the key should be, a file where the folder should be
        raise user_state.unusable(error) from None


def _read(path: Path) -> bytes:
    """The key at ``path``, refused when others may read or change it, or it is cut short.

    :raises EnvironmentProblem: names the file and what to do.
    """
    if path.exists() and not path.is_file():
        raise EnvironmentProblem(
            f"{path}: the secret key is not a file (a folder?): remove it, and run the command again"
        )
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise EnvironmentProblem(f"{path}: the secret key is open to other users (mode {mode:04o}): chmod 600 it")
    key = path.read_bytes()
    if len(key) < KEY_BYTES:
        raise EnvironmentProblem(f"{path}: the secret key is truncated; delete it and run `deployer up` again")
    return key


def fingerprints(values: Mapping[str, str], *, create: bool) -> dict[str, str]:
    """Each secret name to a keyed fingerprint of its name and value (so two secrets with
    one value do not show it); empty without secrets, and no key is read or made then."""
    if not values:
        return {}
    key = load_key(create=create)
    if key is None:  # plan before the first up with secrets: no HMAC matches, and plans repeat
        return dict.fromkeys(sorted(values), NO_KEY)
    return {
        name: hmac.new(key, f"{name}\0{value}".encode(), hashlib.sha256).hexdigest()[:FINGERPRINT_CHARS]
        for name, value in sorted(values.items())
    }
