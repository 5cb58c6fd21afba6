"""Typed reading of one config table, with errors that name the exact key path.

Used by the core for the app keys and by target plugins for their ``[targets.<name>]``
section, so every config error in deployer reads the same way::

    s = Section(raw, "targets.local")
    port = s.integer("port", default=8080, minimum=1, maximum=65535)
    s.done()   # rejects keys nobody read

:func:`target_settings` gives a phase its target's parsed settings from its context.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from deployer.errors import ConfigError

if TYPE_CHECKING:
    from deployer.models import PhaseContext

T = TypeVar("T")

_MISSING = object()


def _type_name(value: object) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__
    )


class Section:
    """One TOML table at a key path (``"app"``, ``"targets.aws-ecs"``)."""

    def __init__(self, raw: object, path: str):
        if not isinstance(raw, Mapping):
            raise ConfigError(path, f"must be a table, not a {_type_name(raw)}", value=raw)
        self.raw, self.path, self._read = raw, path, set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _get(self, name: str, default: Any) -> Any:
        self._read.add(name)
        if name in self.raw:
            return self.raw[name]
        if default is _MISSING:
            raise ConfigError(self.key(name), "is required")
        return default

    def _expect(self, name: str, value: object, kind: type | tuple[type, ...], what: str) -> None:
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise ConfigError(self.key(name), f"must be {what}, not a {_type_name(value)}", value=value)

    def value(self, name: str, default: Any = _MISSING) -> Any:
        """The raw value, unchecked: for keys that accept more than one shape."""
        return self._get(name, default)

    def text(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        choices: tuple[str, ...] = (),
        pattern: str | None = None,
        hint: str = "",
    ) -> Any:
        """A string; optionally one of ``choices`` or matching ``pattern`` (``hint`` says what)."""
        value = self._get(name, default)
        if value is default and name not in self.raw:
            return value
        self._expect(name, value, str, "a string")
        if choices and value not in choices:
            raise ConfigError(self.key(name), f"must be one of {', '.join(choices)}", value=value)
        if pattern and not re.fullmatch(pattern, value):
            raise ConfigError(self.key(name), f"must be {hint or 'matching ' + pattern}", value=value)
        return value

    def integer(
        self, name: str, default: Any = _MISSING, *, minimum: int | None = None, maximum: int | None = None
    ) -> Any:
        """An integer within ``[minimum, maximum]``."""
        value = self._get(name, default)
        if value is default and name not in self.raw:
            return value
        self._expect(name, value, int, "an integer")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise ConfigError(self.key(name), f"must be {bounds}", value=value)
        return value

    def boolean(self, name: str, default: Any = _MISSING) -> Any:
        """true or false."""
        value = self._get(name, default)
        if value is default and name not in self.raw:
            return value
        self._expect(name, value, bool, "true or false")
        return value

    def names(self, name: str, default: Any = (), *, pattern: str | None = None, hint: str = "") -> tuple[str, ...]:
        """An array of strings, each matching ``pattern`` when given."""
        value = self._get(name, default)
        if value is default and name not in self.raw:
            return tuple(value)
        self._expect(name, value, list, "an array of strings")
        for index, item in enumerate(value):
            key = f"{self.key(name)}[{index}]"
            if not isinstance(item, str):
                raise ConfigError(key, f"must be a string, not a {_type_name(item)}", value=item)
            if pattern and not re.fullmatch(pattern, item):
                raise ConfigError(key, f"must be {hint or 'matching ' + pattern}", value=item)
        return tuple(value)

    def mapping(self, name: str, *, key_pattern: str | None = None, key_hint: str = "") -> dict[str, str]:
        """A table of string keys to string values (numbers and booleans are converted)."""
        value = self._get(name, {})
        if not isinstance(value, Mapping):
            raise ConfigError(self.key(name), f"must be a table, not a {_type_name(value)}", value=value)
        result = {}
        for item_key, item in value.items():
            key = f"{self.key(name)}.{item_key}"
            if key_pattern and not re.fullmatch(key_pattern, item_key):
                raise ConfigError(key, f"is not a valid name: {key_hint or key_pattern}")
            if isinstance(item, bool):
                item = "true" if item else "false"
            elif isinstance(item, (int, float)):
                item = str(item)
            if not isinstance(item, str):
                raise ConfigError(key, f"must be a string, number or boolean, not a {_type_name(item)}", value=item)
            result[item_key] = item
        return result

    def section(self, name: str) -> Section:
        """A nested table (empty when absent)."""
        return Section(self._get(name, {}), self.key(name))

    def done(self) -> None:
        """Reject keys that were never read: a typo must not be silently ignored."""
        unknown = sorted(set(self.raw) - self._read)
        if unknown:
            allowed = ", ".join(sorted(self._read)) or "none"
            raise ConfigError(self.key(unknown[0]), f"is not a known key; allowed here: {allowed}")


def target_settings(ctx: PhaseContext, kind: type[T], parse: Callable[[Mapping[str, Any], str], T]) -> T:
    """The settings of ``ctx``'s target as ``kind``: ``ctx.target.settings`` when the core
    parsed them already, else that raw table (None: empty, so the defaults) parsed now
    with ``parse``, as for a context built in code. A target's ``of(ctx)`` is this."""
    settings = ctx.target.settings
    if isinstance(settings, kind):
        return settings
    return parse(settings or {}, f"targets.{ctx.target.name}")
