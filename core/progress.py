"""Progress while deployer works: what the library reports (one line per event, each
phase with its time). How it looks is the caller's: the CLI's
:class:`deployer.cli.ConsoleReporter` prints it to stderr, so stdout stays clean for
``--json``."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """Receives progress; the library calls it, the CLI decides how it looks."""

    def line(self, text: str) -> None:
        """One line of detail (build output, engine events)."""

    def phase(self, name: str, seconds: float) -> None:
        """A phase (or step such as ``build``) finished after ``seconds``."""


class SilentReporter:
    """Discards everything (library use, tests)."""

    def line(self, text: str) -> None:
        pass

    def phase(self, name: str, seconds: float) -> None:
        pass
