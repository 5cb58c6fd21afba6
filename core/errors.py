"""Errors deployer raises on purpose; each carries the exit code the CLI uses."""

from __future__ import annotations

import json


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


def _as_written(value: object) -> str:
    """``value`` as a config file writes it: ``true``, ``4096``, ``"text"``, ``[1, 2]``."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


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
