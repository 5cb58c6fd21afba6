"""Building the plugin manager: built-in targets, then third-party plugins.

Discovery is a pipeline over plain records: built-in module names, then the entry
points of the ``deployer`` group. A plugin that fails to import is reported by its
distribution name with the cause, and the others keep working.
``DEPLOYER_DISABLE_PLUGINS=name,...`` blocks plugins by entry-point or built-in name.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points

import pluggy
from attrs import evolve, frozen

from deployer import hookspecs
from deployer.errors import PluginError, TargetUnavailable, UsageError
from deployer.targets import Driver, TargetInfo

ENTRY_POINT_GROUP = "deployer"
DISABLE_ENV = "DEPLOYER_DISABLE_PLUGINS"

BUILTIN_PLUGINS: Mapping[str, str] = {
    "local": "deployer.plugins.local_docker.plugin",
    "aws-ecs": "deployer.plugins.aws_ecs.plugin",
}


@frozen
class LoadFailure:
    """A plugin that could not be loaded: which one, from which distribution, and why."""

    name: str
    distribution: str
    cause: str

    def __str__(self) -> str:
        return f"plugin {self.name!r} from distribution {self.distribution!r} failed to load: {self.cause}"


class DeployerPluginManager(pluggy.PluginManager):
    """A pluggy manager that also knows the registered targets and the load failures."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.load_failures: list[LoadFailure] = []
        self.blocked: frozenset[str] = frozenset()
        """The plugin names ``DEPLOYER_DISABLE_PLUGINS`` blocked for this manager."""
        self._targets: dict[str, TargetInfo] | None = None

    # --- targets --------------------------------------------------------------------

    @property
    def targets(self) -> Mapping[str, TargetInfo]:
        """Every registered target by name, collected once through the registration hook."""
        if self._targets is None:
            self._targets = collect_targets(self)
        return self._targets

    def target(self, name: str) -> TargetInfo:
        """The target called ``name``; an error listing the known ones otherwise, or the
        install hint when its dependencies are missing."""
        info = self.targets.get(name)
        if info is None:
            known = ", ".join(sorted(self.targets)) or "none"
            raise UsageError(f"unknown target {name!r}; known targets: {known}")
        if not info.available:
            raise TargetUnavailable(
                f"target {name!r} is not available: its dependencies are not installed. "
                f"Install them with: {info.install_hint or 'see the plugin documentation'}"
            )
        return info

    def use_driver(self, name: str, driver: Callable[[], Driver]) -> None:
        """Make target ``name`` use ``driver`` (a zero-argument factory) instead of the
        driver its plugin registered, e.g. an emulated driver in tests. Phases, settings
        and plugins stay as they are. An unknown or unavailable target is an error, as
        for :meth:`target`."""
        self._targets = {**self.targets, name: evolve(self.target(name), driver=driver)}


def collect_targets(pm: pluggy.PluginManager) -> dict[str, TargetInfo]:
    """Call every ``deployer_register_targets`` implementation; reject duplicate names,
    naming both plugins."""
    targets: dict[str, TargetInfo] = {}
    for impl in pm.hook.deployer_register_targets.get_hookimpls():
        plugin_name = impl.plugin_name

        def register(info: TargetInfo, _plugin: str = plugin_name) -> None:
            if not isinstance(info, TargetInfo):
                raise PluginError(f"plugin {_plugin!r} registered {info!r}, which is not a TargetInfo")
            if info.name in targets:
                raise PluginError(
                    f"target {info.name!r} is registered twice: by plugin "
                    f"{targets[info.name].plugin!r} and by plugin {_plugin!r}; "
                    f"uninstall one or block it with {DISABLE_ENV}={_plugin}"
                )
            targets[info.name] = evolve(info, plugin=_plugin)

        impl.function(register=register)
    return targets


def blocked_plugins(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Plugin names listed in ``DEPLOYER_DISABLE_PLUGINS`` (comma separated) of ``environ``
    (the process environment when None)."""
    environ = os.environ if environ is None else environ
    return frozenset(n.strip() for n in environ.get(DISABLE_ENV, "").split(",") if n.strip())


def _distribution(ep: EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "unknown"


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    try:
        pm.register(plugin, name=name)
    except ValueError as exc:  # pluggy: the same name or object registered twice
        raise PluginError(f"plugin {name!r}: {exc}") from None
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {name!r}: {exc}") from None


def get_plugin_manager(
    *,
    builtins: Mapping[str, str] = BUILTIN_PLUGINS,
    entry_points_: Iterable[EntryPoint] | None = None,
    extra: Iterable[tuple[str, object]] = (),
    environ: Mapping[str, str] | None = None,
) -> DeployerPluginManager:
    """A plugin manager holding the built-in plugins, the installed third-party plugins
    (entry-point group ``deployer``) and any ``extra`` ``(name, plugin)`` pairs.

    An ``extra`` plugin takes the place of an installed entry point of the same name (a
    plugin's own tests may pass it explicitly while it is installed). Blocked plugins
    (``DEPLOYER_DISABLE_PLUGINS`` in ``environ``, the process environment when None) are skipped. A third-party plugin that
    fails to import is recorded in ``pm.load_failures`` and skipped. Hook implementations
    without a matching spec raise :class:`PluginError` naming the plugin.
    """
    pm = DeployerPluginManager()
    pm.blocked = blocked = blocked_plugins(environ)
    for name, module in builtins.items():
        if name not in blocked:
            _register(pm, importlib.import_module(module), name)
    if entry_points_ is None:
        entry_points_ = entry_points(group=ENTRY_POINT_GROUP)
    extra = list(extra)
    given = {name for name, _ in extra}  # passed explicitly: wins over its installed entry point
    for ep in entry_points_:
        if ep.name in blocked or ep.name in given or pm.has_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # any import-time failure of someone else's code
            pm.load_failures.append(LoadFailure(ep.name, _distribution(ep), f"{type(exc).__name__}: {exc}"))
            continue
        _register(pm, plugin, ep.name)
    for name, plugin in extra:
        if name not in blocked:
            _register(pm, plugin, name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {pm.get_name(exc.plugin)!r}: {exc}") from None
    return pm
