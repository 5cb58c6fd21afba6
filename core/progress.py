"""Progress shown while deployer works: one line per event, each phase with its time.

Everything goes to stderr, so stdout stays clean for ``--json``.
"""

from __future__ import annotations

import functools
import sys
import time
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from rich.console import Console


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


class ConsoleReporter:
    """Prints to stderr with rich: dim detail lines and a check mark per phase.

    rich is imported at the first line printed, so a command that reports nothing does
    not pay for it.
    """

    def __init__(self, stream: TextIO | None = None):
        self._stream = stream or sys.stderr
        self._started = time.perf_counter()

    @functools.cached_property
    def _console(self) -> Console:
        from rich.console import Console

        return Console(file=self._stream, highlight=False)

    def line(self, text: str) -> None:
        text = text.rstrip()
        if text:
            self._console.print(f"  [dim]{_escape(text)}[/dim]")

    def phase(self, name: str, seconds: float) -> None:
        self._console.print(f"[green]✓[/green] {name:<10} [dim]{seconds:6.2f}s[/dim]")

    def done(self, text: str) -> None:
        total = time.perf_counter() - self._started
        self._console.print(f"[bold]{_escape(text)}[/bold] [dim]({total:.2f}s)[/dim]")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
