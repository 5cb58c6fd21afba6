"""A plugin that records every phase hook call: which phase, for which target, what it
returned. Register it in a plugin manager to observe a run without changing it. And a
reporter that keeps the lines a run reports."""

from __future__ import annotations

from attrs import frozen

from deployer.hookspecs import hookimpl


@frozen
class HookCall:
    """One phase call as seen by the recorder."""

    phase: str
    target: str
    mode: str
    result_type: str


class HookRecorder:
    """Wraps the four phase hooks (``wrapper=True``) and appends a :class:`HookCall` to
    ``calls`` for each; results pass through unchanged."""

    def __init__(self) -> None:
        self.calls: list[HookCall] = []

    def phases(self, mode: str | None = None) -> list[str]:
        """The recorded phase names, in call order (only ``mode``'s when given)."""
        return [c.phase for c in self.calls if mode is None or c.mode == mode]

    def clear(self) -> None:
        self.calls.clear()

    def _record(self, phase, ctx):
        result = yield
        self.calls.append(HookCall(phase, ctx.target.name, ctx.mode, type(result).__name__))
        return result

    @hookimpl(wrapper=True)
    def deployer_network(self, ctx):
        return (yield from self._record("network", ctx))

    @hookimpl(wrapper=True)
    def deployer_registry(self, ctx, network):
        return (yield from self._record("registry", ctx))

    @hookimpl(wrapper=True)
    def deployer_ingress(self, ctx, network, registry):
        return (yield from self._record("ingress", ctx))

    @hookimpl(wrapper=True)
    def deployer_compute(self, ctx, network, registry, ingress):
        return (yield from self._record("compute", ctx))


class LineReporter:
    """A :class:`~deployer.progress.Reporter` keeping every line reported, in order, in
    ``lines`` (phase timings are not kept)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        self.lines.append(text)

    def phase(self, name: str, seconds: float) -> None:
        pass
