"""Progress shown while deployer works: one line per event, each phase with its time.

Everything goes to stderr, so stdout stays clean for ``--json``.
"""

from __future__ import annotations

import functools
import sys
from typing import Protocol, TextIO

from rich.console import Console
from rich.markup import escape


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
    """Prints to stderr: with rich's colours on a terminal, plain lines otherwise (logs,
    CI, pipes)."""

    def __init__(self, stream: TextIO | None = None):
        self._stream = stream or sys.stderr

    @functools.cached_property
    def _console(self) -> Console | None:
        if not self._stream.isatty():
            return None
        return Console(file=self._stream, highlight=False)

    def line(self, text: str) -> None:
        text = text.rstrip()
        if not text:
            return
        if self._console is None:
            print(f"  {text}", file=self._stream, flush=True)
        else:
            self._console.print(f"  [dim]{escape(text)}[/dim]")

    def phase(self, name: str, seconds: float) -> None:
        if self._console is None:
            print(f"✓ {name:<10} {seconds:6.2f}s", file=self._stream, flush=True)
        else:
            self._console.print(f"[green]✓[/green] {name:<10} [dim]{seconds:6.2f}s[/dim]")
