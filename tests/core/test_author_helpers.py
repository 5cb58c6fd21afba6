"""The helpers a target author uses: TargetPhases and phase_from (no name guard to
write, phase modules imported on first use), log_lines.merge, and the preflight the core
runs before every command that touches the platform."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from attrs import evolve

from deployer import api
from deployer.errors import EnvironmentProblem
from deployer.lifecycle import phase_runner
from deployer.log_lines import merge, moment
from deployer.models import LogLine, NetworkResult, TargetConfig
from deployer.plugin_manager import get_plugin_manager
from deployer.targets import TargetPhases, phase_from

from .memory_target import MemoryDriver, MemoryTarget
from .test_plugins import context


def test_target_phases_answer_only_for_their_target_and_are_trylast(make_project):
    memory = MemoryTarget()
    pm = get_plugin_manager(extra=[("memory", memory)])
    ctx = context(pm, make_project)
    assert memory.deployer_network(ctx) == NetworkResult(id="demo-dev-net")
    other = evolve(ctx, target=TargetConfig("local"))
    assert memory.deployer_network(other) is None
    assert memory.deployer_compute(other, None, None, None) is None
    for hook in ("deployer_network", "deployer_registry", "deployer_ingress", "deployer_compute"):
        (impl,) = [i for i in getattr(pm.hook, hook).get_hookimpls() if i.plugin is memory]
        assert impl.trylast, hook
    assert phase_runner(pm)(ctx).compute.replicas == 1


def test_phase_from_imports_its_module_on_the_first_call_only():
    name = "tests.core._lazy_phase_probe"
    sys.modules.pop(name, None)
    lazy = phase_from(name, "apply")
    assert name not in sys.modules
    with pytest.raises(ModuleNotFoundError):
        lazy(None)


def test_the_builtin_manifests_import_no_phase_module():
    code = (
        "import sys, deployer.plugin_manager as m; m.get_plugin_manager().targets; "
        "print(sorted(n for n in sys.modules if n.endswith(('.network', '.registry', '.ingress', '.compute'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_merge_orders_by_time_and_applies_since_exactly():
    a = [LogLine("a", "one", "2026-05-01T12:00:00.100000000Z"), LogLine("a", "three", "2026-05-01T12:00:02Z")]
    b = [LogLine("b", "two", "2026-05-01T12:00:01.5+00:00"), LogLine("b", "no time")]
    assert [line.text for line in merge([a, b])] == ["one", "two", "no time", "three"]  # after its stream's last
    since = datetime(2026, 5, 1, 12, 0, 1, 500000, tzinfo=UTC)
    assert [line.text for line in merge([a, b], since=since)] == ["two", "three"]


def test_merge_reads_each_stream_only_as_far_as_it_yields():
    """Lazy: a consumer of the first lines holds one line per stream, whatever the logs' size."""
    read = {"a": 0, "b": 0}

    def stream(source: str, start: int):
        for second in range(start, 100, 2):
            read[source] += 1
            yield LogLine(source, str(second), f"2026-05-01T12:{second // 60:02}:{second % 60:02}Z")

    merged = merge([stream("a", 0), stream("b", 1)])
    assert [next(merged).text for _ in range(4)] == ["0", "1", "2", "3"]
    assert read == {"a": 3, "b": 2}
    assert moment("2026-05-01T12:00:00.123456789Z") == datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert moment("not a time") is None


@pytest.mark.parametrize("command", ["status", "down", "logs"])
def test_the_drivers_preflight_runs_before_status_down_and_logs(command, make_project, monkeypatch):
    def unavailable(self, ctx):
        raise EnvironmentProblem(f"memory platform unavailable ({ctx.mode})")

    monkeypatch.setattr(MemoryDriver, "preflight", unavailable, raising=False)
    pm = get_plugin_manager(extra=[("memory", MemoryTarget())])
    session = api.open_session(target="memory", config=make_project(), pm=pm)
    with pytest.raises(EnvironmentProblem, match=f"unavailable \\({command}\\)") as caught:
        getattr(api, command)(session)
    assert caught.value.exit_code == 2


def test_target_phases_is_a_plugin_of_its_own():
    phases = TargetPhases("x", network=lambda ctx: None, registry=None, ingress=None, compute=None)  # type: ignore[arg-type]
    pm = get_plugin_manager(builtins={}, entry_points_=(), extra=[("x", phases)])
    assert pm.get_plugin("x") is phases
