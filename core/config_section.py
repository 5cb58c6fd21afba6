"""Typed reading of one config table, with errors that name the exact key path.

Used by the core for the app keys and by target plugins for their ``[targets.<name>]``
section, so every config error in deployer reads the same way::

    s = Section(raw, "targets.local")
    port = s.integer("port", default=8080, minimum=1, maximum=65535)
    if s.parsed("port") and port == 22:
        s.error("port", "is the SSH port", value=port)   # a check of your own
    s.done()   # rejects keys nobody read, then raises every error found

Readers record an error instead of raising it and return their default (None for a
required key), so one run reports every mistake: :meth:`Section.done` of the outermost
section raises them all as one :class:`~deployer.errors.ConfigErrors`. Nested sections
(:meth:`Section.section`) share the outer section's list. Check values that depend on
other keys only when :meth:`Section.parsed` says those keys were read without error.
A plain ``raise ConfigError(...)`` still works anywhere (it stops at that error);
:meth:`Section.collect` turns one raised inside its block into a recorded one.

:func:`target_settings` gives a phase its target's parsed settings from its context.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from deployer.errors import ConfigError, ConfigErrors

if TYPE_CHECKING:
    from deployer.models import PhaseContext

T = TypeVar("T")

_MISSING = object()


SECONDS = "seconds"
MIB = "MiB"
CPU_UNITS = "CPU units (1024 per vCPU)"
"""Units of integer keys (:meth:`Section.integer`'s ``unit``), as their errors say them."""


def _type_name(value: object) -> str:
    return {bool: "boolean", int: "integer", float: "decimal number", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__
    )


def _a_type(value: object) -> str:
    """``value``'s TOML type with its article: "an integer", "a string"."""
    name = _type_name(value)
    return f"an {name}" if name[:1] in "aeiou" else f"a {name}"


class Section:
    """One TOML table at a key path (``"app"``, ``"targets.aws-ecs"``).

    :param errors: the list this section records its errors in; None (an outermost
        section) starts a new one, which :meth:`done` raises.
    """

    def __init__(self, raw: object, path: str, *, errors: list[ConfigError] | None = None):
        self.path, self._read, self._bad = path, set[str](), set[str]()
        self._outer = errors is None
        self.errors: list[ConfigError] = [] if errors is None else errors
        self.is_table = isinstance(raw, Mapping)
        if not isinstance(raw, Mapping):
            problem = ConfigError(path, f"must be a table, not {_a_type(raw)}", value=raw)
            if self._outer:
                raise problem  # nothing else in it can be checked
            self.errors.append(problem)
            raw = {}
        self.raw: Mapping[str, Any] = raw

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    # --- errors -----------------------------------------------------------------------

    def error(self, name: str, message: str, *, value: object = ...) -> None:
        """Record an error at ``name`` (``"port"``, ``"secrets[1]"``, ``"env.PORT"``);
        the key it belongs to counts as not :meth:`parsed`."""
        self._bad.add(re.split(r"[.\[]", name, maxsplit=1)[0])
        self.errors.append(ConfigError(self.key(name), message, value=value))

    @contextmanager
    def collect(self) -> Iterator[None]:
        """Record a :class:`ConfigError` raised in the block instead of letting it stop
        the parse (the rest of the block is skipped)."""
        try:
            yield
        except ConfigError as exc:
            for error in exc.errors if isinstance(exc, ConfigErrors) else (exc,):
                prefix = f"{self.path}." if self.path else ""
                if error.key.startswith(prefix):
                    self._bad.add(re.split(r"[.\[]", error.key[len(prefix) :], maxsplit=1)[0])
                self.errors.append(error)

    def parsed(self, *names: str) -> bool:
        """True when this section is a table and each of ``names`` was read without error
        (so checks across keys run only on values that mean what the user wrote)."""
        return self.is_table and not self._bad.intersection(names)

    # --- readers ----------------------------------------------------------------------

    def _get(self, name: str, default: Any) -> Any:
        self._read.add(name)
        if name in self.raw:
            return self.raw[name]
        if default is _MISSING:
            self.error(name, "is required")
            return None
        return default

    def _is(self, name: str, value: object, kind: type | tuple[type, ...], what: str) -> bool:
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            self.error(name, f"must be {what}, not {_a_type(value)}", value=value)
            return False
        return True

    @staticmethod
    def _fallback(default: Any) -> Any:
        return None if default is _MISSING else default

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
        if name not in self.raw:
            return value
        if not self._is(name, value, str, "a string"):
            return self._fallback(default)
        if choices and value not in choices:
            self.error(name, f"must be one of {', '.join(choices)}", value=value)
            return self._fallback(default)
        if pattern and not re.fullmatch(pattern, value):
            self.error(name, f"must be {hint or 'matching ' + pattern}", value=value)
            return self._fallback(default)
        return value

    def integer(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        unit: str = "",
    ) -> Any:
        """An integer within ``[minimum, maximum]``. A ``unit`` (:data:`SECONDS`,
        :data:`MIB`, :data:`CPU_UNITS`) is named in its errors, with the default (else the
        minimum) as an example: ``"10s"`` gets "an integer number of seconds, e.g. 10"."""
        value = self._get(name, default)
        if name not in self.raw:
            return value
        what = "an integer"
        if unit:
            example = default if isinstance(default, int) else minimum
            what += f" number of {unit}" + (f", e.g. {example}" if example is not None else "")
        if not self._is(name, value, int, what):
            return self._fallback(default)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            self.error(name, f"must be {bounds} {unit}".rstrip(), value=value)
            return self._fallback(default)
        return value

    def boolean(self, name: str, default: Any = _MISSING) -> Any:
        """true or false."""
        value = self._get(name, default)
        if name not in self.raw:
            return value
        return value if self._is(name, value, bool, "true or false") else self._fallback(default)

    def names(self, name: str, default: Any = (), *, pattern: str | None = None, hint: str = "") -> tuple[str, ...]:
        """An array of strings, each matching ``pattern`` when given (every bad item is
        reported; the default is returned when any is bad)."""
        value = self._get(name, default)
        if name not in self.raw:
            return tuple(value)
        if not self._is(name, value, list, "an array of strings"):
            return tuple(default)
        ok = True
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.error(f"{name}[{index}]", f"must be a string, not {_a_type(item)}", value=item)
                ok = False
            elif pattern and not re.fullmatch(pattern, item):
                self.error(f"{name}[{index}]", f"must be {hint or 'matching ' + pattern}", value=item)
                ok = False
        return tuple(value) if ok else tuple(default)

    def mapping(self, name: str, *, key_pattern: str | None = None, key_hint: str = "") -> dict[str, str]:
        """A table of string keys to string values (numbers and booleans are converted).
        Every bad entry is reported; the good ones are returned."""
        value = self._get(name, {})
        if not isinstance(value, Mapping):
            self.error(name, f"must be a table, not {_a_type(value)}", value=value)
            return {}
        result = {}
        for item_key, item in value.items():
            if key_pattern and not re.fullmatch(key_pattern, item_key):
                self.error(f"{name}.{item_key}", f"is not a valid name: {key_hint or key_pattern}")
            elif isinstance(item, bool):
                result[item_key] = "true" if item else "false"
            elif isinstance(item, (int, float, str)):
                result[item_key] = str(item)
            else:
                self.error(
                    f"{name}.{item_key}", f"must be a string, number or boolean, not {_a_type(item)}", value=item
                )
        return result

    def section(self, name: str) -> Section:
        """A nested table (empty when absent), recording into this section's errors."""
        raw = self._get(name, {})
        child = Section(raw, self.key(name), errors=self.errors)
        if not child.is_table:
            self._bad.add(name)
        return child

    def table(self, raw: object, path: str) -> Section:
        """A table found elsewhere (an item of an array of tables, say) at ``path``,
        recording into this section's errors."""
        return Section(raw, path, errors=self.errors)

    def done(self) -> None:
        """Reject keys that were never read (a typo must not be silently ignored); in the
        outermost section, then raise every error recorded (:class:`ConfigErrors`)."""
        allowed = ", ".join(sorted(self._read)) or "none"
        for name in sorted(set(self.raw) - self._read):
            close = difflib.get_close_matches(str(name), sorted(self._read), n=1, cutoff=0.75)
            meant = f"did you mean {close[0]!r}? " if close else ""
            self.error(name, f"is not a known key; {meant}allowed here: {allowed}")
        self._read.update(self.raw)
        if self._outer:
            self.raise_errors()

    def raise_errors(self) -> None:
        """Raise what was recorded so far, if anything, as one :class:`ConfigErrors`."""
        if self.errors:
            raise ConfigErrors(self.errors)


def target_settings(ctx: PhaseContext, kind: type[T], parse: Callable[[Mapping[str, Any], str], T]) -> T:
    """The settings of ``ctx``'s target as ``kind``: ``ctx.target.settings`` when the core
    parsed them already, else that raw table (None: empty, so the defaults) parsed now
    with ``parse``, as for a context built in code. A target's ``of(ctx)`` is this."""
    settings = ctx.target.settings
    if isinstance(settings, kind):
        return settings
    return parse(settings or {}, f"targets.{ctx.target.name}")
