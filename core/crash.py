"""Explaining an unexpected exception in one line, naming who raised it.

Errors deployer raises on purpose (:class:`deployer.errors.DeployerError`) explain
themselves. Anything else is a bug somewhere; the CLI shows one line instead of a
traceback, naming the plugin (or the third-party library) whose code raised it, found
by walking the traceback's frames::

    up failed in plugin 'byo-vpc' (distribution deployer-byo-vpc): RuntimeError: no VPC
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterable, Mapping
from functools import cache
from importlib.metadata import entry_points, packages_distributions
from types import ModuleType, TracebackType

from attrs import frozen

from deployer.plugin_manager import BUILTIN_PLUGINS, ENTRY_POINT_GROUP

CORE_PACKAGE = "deployer"
PLUGINS_PACKAGE = "deployer.plugins"


@frozen
class Culprit:
    """Whose code an exception came from: a ``plugin`` (by its registered name) and/or a
    third-party ``library`` (a distribution), either empty when not involved."""

    plugin: str = ""
    plugin_distribution: str = ""
    library: str = ""

    def describe(self) -> str:
        """``in plugin 'x' (distribution d)``, ``in plugin 'x', inside y``, ``in y``, or ``""``."""
        parts = []
        if self.plugin:
            dist = f" (distribution {self.plugin_distribution})" if self.plugin_distribution else ""
            parts.append(f"in plugin {self.plugin!r}{dist}")
        if self.library:
            parts.append(f"inside {self.library}" if parts else f"in {self.library}")
        return ", ".join(parts)


def summary(action: str, exc: BaseException, plugins: Iterable[tuple[str, object]] = ()) -> str:
    """One line: ``<action> failed [in plugin 'x']: <ExceptionType>: <message>``.

    ``plugins`` are the ``(name, plugin)`` pairs registered in the plugin manager (as from
    ``pm.list_name_plugin()``); built-in and entry-point plugins are known without them.
    """
    where = culprit(exc.__traceback__, plugins).describe()
    return f"{action} failed{' ' + where if where else ''}: {exception_text(exc)}"


def exception_text(exc: BaseException) -> str:
    """``RuntimeError: message``; non-builtin types by their full name (``docker.errors.NotFound``)."""
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    message = " ".join(str(exc).split())  # one line, whatever the message holds
    return f"{name}: {message}" if message else name


def culprit(tb: TracebackType | None, plugins: Iterable[tuple[str, object]] = ()) -> Culprit:
    """Who raised: the innermost frame of a plugin's code names the plugin; the first
    third-party frame below the innermost frame of deployer or plugin code names the
    library (the one deployer or the plugin called)."""
    owners = _plugin_packages(plugins)
    modules = [frame.f_globals.get("__name__") or "" for frame, _ in traceback.walk_tb(tb)]
    plugin, owned_at = "", -1
    for index, module in enumerate(modules):
        name = _plugin_of(module, owners)
        if name:
            plugin, owned_at = name, index
        elif _is_core(module):
            owned_at = index
    library = next(
        (dist for module in modules[owned_at + 1 :] if (dist := _distribution(module)) and not _is_core(module)),
        "",
    )
    if library and plugin and _distribution(_module_of_plugin(plugin, owners)) == library:
        library = ""  # the plugin's own distribution: already named
    return Culprit(plugin=plugin, plugin_distribution=_plugin_distribution(plugin, owners), library=library)


# --- internals ----------------------------------------------------------------------------


def _plugin_packages(plugins: Iterable[tuple[str, object]]) -> dict[str, str]:
    """Module or package name -> plugin name, for every plugin deployer can know of."""
    owners: dict[str, str] = {}
    for name, builtin in BUILTIN_PLUGINS.items():
        owners[_package(builtin)] = name
    try:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            owners.setdefault(_package(ep.module), ep.name)
    except Exception:  # broken metadata must not hide the error being explained
        pass
    for name, plugin in plugins:
        module: object = plugin.__name__ if isinstance(plugin, ModuleType) else getattr(plugin, "__module__", None)
        if isinstance(module, str) and module:
            owners.setdefault(module, name)  # exact module: a plugin defined in any module
            if module.startswith(PLUGINS_PACKAGE + ".") or _distribution(module) not in ("", CORE_PACKAGE):
                owners.setdefault(_package(module), name)  # an installed package: all of it
    return owners


def _package(module: str) -> str:
    """A plugin module's package: ``deployer.plugins.<name>``, else its top-level package."""
    parts = module.split(".")
    if module.startswith(PLUGINS_PACKAGE + ".") and len(parts) > 2:
        return ".".join(parts[:3])
    return parts[0]


def _plugin_of(module: str, owners: Mapping[str, str]) -> str:
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        owner = owners.get(".".join(parts[:depth]))
        if owner:
            return owner
    if module.startswith(PLUGINS_PACKAGE + ".") and len(parts) > 2:
        return parts[2]  # deployer.plugins.<name>: a built-in plugin's package, registered or not
    return ""


def _module_of_plugin(plugin: str, owners: Mapping[str, str]) -> str:
    return next((module for module, name in owners.items() if name == plugin), "")


def _plugin_distribution(plugin: str, owners: Mapping[str, str]) -> str:
    if not plugin:
        return ""
    dist = _distribution(_module_of_plugin(plugin, owners))
    return "" if dist in ("", CORE_PACKAGE) else dist


def _is_core(module: str) -> bool:
    return module == CORE_PACKAGE or module.startswith(CORE_PACKAGE + ".")


def _distribution(module: str) -> str:
    """The installed distribution providing ``module``; "" for the standard library,
    deployer's own tests and modules no distribution provides."""
    top = module.split(".")[0]
    if not top or top in sys.stdlib_module_names:
        return ""
    if top == CORE_PACKAGE:
        return CORE_PACKAGE
    return ", ".join(_top_level_distributions().get(top, ()))


@cache
def _top_level_distributions() -> Mapping[str, tuple[str, ...]]:
    try:
        return {top: tuple(dict.fromkeys(dists)) for top, dists in packages_distributions().items()}
    except Exception:  # broken metadata must not hide the error being explained
        return {}
