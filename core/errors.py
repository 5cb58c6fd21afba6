"""Errors deployer raises on purpose; each carries the exit code the CLI uses."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable

EXIT_INTERRUPTED = 130
INTERRUPTED = "interrupted; run the same command again to converge"
"""What the CLI says, with :data:`EXIT_INTERRUPTED`, when Ctrl-C (or SIGTERM during ``up``) stops it."""


class DeployerError(Exception):
    """Base class: a failure deployer understands and can explain to the user."""

    exit_code = 1


class UsageError(DeployerError):
    """The user asked for something that cannot be done as asked (exit 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """A configuration value is wrong: names the file, the key path, the value and what is allowed."""

    def __init__(self, key: str, message: str, *, value: object = ..., file: object = None):
        self.key, self.message, self.value = key, message, value
        self.file = str(file) if file is not None else None
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.file}: " if self.file else ""
        shown = "" if self.value is ... else f" (got {_as_written(self.value)})"
        return f"{where}{self.key}: {self.message}{shown}"

    def in_file(self, file: object) -> ConfigError:
        """The same error, naming ``file`` (config parsers raise without knowing the file)."""
        return ConfigError(self.key, self.message, value=self.value, file=file)


class ConfigErrors(ConfigError):
    """Every problem found in one pass over a config table (exit 2), so that one run
    lists them all. With a single error it reads exactly as that :class:`ConfigError`;
    ``key``, ``message``, ``value`` and ``file`` are those of the first one, ``errors``
    holds them all, in the order they were found."""

    def __init__(self, errors: Iterable[ConfigError]):
        flat: list[ConfigError] = []
        for error in errors:
            flat.extend(error.errors if isinstance(error, ConfigErrors) else (error,))
        if not flat:
            raise ValueError("ConfigErrors needs at least one error")
        self.errors: tuple[ConfigError, ...] = tuple(flat)
        first = flat[0]
        super().__init__(first.key, first.message, value=first.value, file=first.file)

    def _render(self) -> str:
        if len(self.errors) == 1:
            return self.errors[0]._render()
        files = {error.file for error in self.errors}
        if len(files) == 1 and None not in files:
            head, lines = f"{files.pop()}: {len(self.errors)} errors", [e.in_file(None)._render() for e in self.errors]
        else:
            head, lines = f"{len(self.errors)} config errors", [e._render() for e in self.errors]
        return "\n  ".join([f"{head}:", *lines])

    def in_file(self, file: object) -> ConfigErrors:
        return ConfigErrors(error.in_file(file) for error in self.errors)


SHOWN_VALUE_MAX = 200
"""Characters of a bad value an error shows: a 200 kB value would bury the message."""


def _as_written(value: object) -> str:
    """``value`` as a config file writes it: ``true``, ``4096``, ``"text"``, ``[1, 2]``,
    ``1979-05-27``; cut to :data:`SHOWN_VALUE_MAX` characters, saying how long it was."""
    if isinstance(value, datetime.date | datetime.time):  # TOML's dates and times (a datetime is a date)
        return value.isoformat()
    try:
        written = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        written = repr(value)
    if len(written) <= SHOWN_VALUE_MAX:
        return written
    return f"{written[:SHOWN_VALUE_MAX]}... ({len(written):,} characters)"


def not_utf8(error: UnicodeDecodeError) -> str:
    """Why a file that should be text is not: ``is not UTF-8 text (byte 0xff at offset 6)``."""
    return f"is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})"


class PluginError(UsageError):
    """A plugin could not be loaded, or two plugins conflict. Names the plugin(s)."""


class TargetUnavailable(UsageError):
    """The selected target's dependencies are missing; the message says how to install them."""


class EnvironmentProblem(UsageError):
    """A tool or service deployer needs is missing (Docker engine, Pulumi CLI, credentials)."""


class BuildError(DeployerError):
    """The image build failed; names the failing Dockerfile step and shows the last output lines."""


class DeployFailed(DeployerError):
    """A deployment did not become healthy; the previous deployment keeps serving."""


class VerifyFailed(DeployerError):
    """One or more HTTP checks failed; the message names each one."""
