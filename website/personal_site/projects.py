"""The projects shown on the site, read from a JSON data file.

The file holds a list of objects with ``slug``, ``title``, ``summary``, ``body``
(a list of paragraphs), ``tags`` (list of strings) and optional ``url``. Adding a
project means adding an entry: its page and the links to it follow, and the website's
tests check every project page the projects page links to.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class Project:
    """One project page."""

    slug: str
    title: str
    summary: str
    body: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    url: str | None = None


def load(path: Path) -> dict[str, Project]:
    """Read ``path`` into projects keyed by slug, in file order.

    Raises ``ValueError`` naming the file and the entry when a slug is malformed or
    repeated, so a bad data file fails at start-up rather than on a request.
    """
    entries = json.loads(path.read_text(encoding="utf-8"))
    projects: dict[str, Project] = {}
    for index, entry in enumerate(entries):
        slug = entry.get("slug", "")
        if not _SLUG.fullmatch(slug) or slug in projects:
            raise ValueError(f"{path}: entry {index}: slug {slug!r} is malformed or repeated")
        projects[slug] = Project(
            slug=slug,
            title=entry["title"],
            summary=entry["summary"],
            body=tuple(entry.get("body", ())),
            tags=tuple(entry.get("tags", ())),
            url=entry.get("url"),
        )
    return projects
