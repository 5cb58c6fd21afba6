"""Which files of a build context Docker receives, after ``.dockerignore``.

The rules are those of the docker SDK's build context (``docker.utils.build``), which
is what deployer's builds send: a pattern is a path of glob segments (``*``, ``?``,
``[...]``, and ``**`` for any number of folders), matched case-insensitively against a
path or any of its parent folders; ``!`` re-includes; the last matching pattern wins;
the Dockerfile and ``.dockerignore`` are always sent. tests/test_dockerignore.py checks
that this module and the SDK agree. It exists so that hashing a context does not import
the SDK (requests and urllib3, about 0.1 s).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from attrs import frozen

from deployer.errors import ConfigError, not_utf8


def read_patterns(context: Path) -> list[str]:
    """The patterns of ``context/.dockerignore`` (blank lines and comments dropped).

    :raises ConfigError: it is there but not a UTF-8 text file (Docker could not read it).
    """
    path = context / ".dockerignore"
    if not path.is_file():
        if os.path.lexists(path):
            raise ConfigError(
                "app.build.context", f"{path} is not a file: .dockerignore must be one", value=str(context)
            )
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        problem = f"{path} {not_utf8(error)}"
        raise ConfigError("app.build.context", problem, value=str(context)) from None
    except OSError as error:
        raise ConfigError("app.build.context", f"{path} cannot be read: {error.strerror}", value=str(context)) from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def context_paths(context: Path, patterns: list[str], *, dockerfile: str = "Dockerfile") -> set[str]:
    """The paths (files and folders, relative, ``/``-separated) under ``context`` that
    ``patterns`` do not exclude. Symbolic links are listed, never followed."""
    rules = [r for r in map(_Rule.parse, [*patterns, f"!{dockerfile}", "!.dockerignore"]) if r.parts]
    kept: set[str] = set()
    _walk(str(context), "", rules, kept)
    return kept


@frozen
class _Rule:
    exception: bool
    parts: tuple[str, ...]
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, text: str) -> _Rule:
        exception = text.startswith("!")
        parts: list[str] = []
        for part in text.removeprefix("!").strip().split("/"):  # Go's filepath.Clean
            if part == "..":
                del parts[-1:]
            elif part not in ("", "."):
                parts.append(part)
        return cls(exception, tuple(parts), re.compile(_translate("/".join(parts).lower())))

    @property
    def text(self) -> str:
        return "/".join(self.parts)

    def matches(self, path: str, parents: list[str]) -> bool:
        """``path`` matches, or its parent folder at this rule's depth does."""
        if self.regex.match(path.lower()):
            return True
        depth = len(self.parts)
        return depth <= len(parents) and bool(self.regex.match("/".join(parents[:depth]).lower()))


def _excluded(path: str, rules: list[_Rule]) -> bool:
    parents = [p for p in os.path.dirname(path).split("/") if p]
    excluded = False
    for rule in rules:
        if rule.matches(path, parents):
            excluded = not rule.exception
    return excluded


def _walk(root: str, folder: str, rules: list[_Rule], kept: set[str]) -> None:
    for entry in os.scandir(os.path.join(root, folder)):
        path = f"{folder}/{entry.name}" if folder else entry.name
        excluded = _excluded(path, rules)
        if not excluded:
            kept.add(path)
        if not entry.is_dir(follow_symlinks=False):  # a link is listed, never followed (nor stat'd: it may loop)
            continue
        # an excluded folder is still entered when an exception may re-include inside it
        if not excluded or any(r.exception and r.text.startswith(path) for r in rules):
            _walk(root, path, rules, kept)


def _translate(pattern: str) -> str:
    """A regular expression for one glob: ``*`` and ``?`` stop at ``/``, ``**`` does not."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char == "*":
            if pattern[i : i + 1] != "*":
                out.append("[^/]*")
                continue
            i += 1
            if pattern[i : i + 1] == "/":
                i += 1
            out.append(".*" if i >= n else "(.*/)?")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = i + (pattern[i : i + 1] == "!")
            end += pattern[end : end + 1] == "]"
            end = pattern.find("]", end)
            if end < 0:
                out.append("\\[")
                continue
            members = pattern[i:end].replace("\\", "\\\\")
            i = end + 1
            if members.startswith("!"):
                members = "^" + members[1:]
            elif members.startswith("^"):
                members = "\\" + members
            out.append(f"[{members}]")
        else:
            out.append(re.escape(char))
    return "".join(out) + "$"
