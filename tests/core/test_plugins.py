"""The plugin core: discovery, blocking, conflicts, and what third parties can do
without touching core: (a) add a target, (b) replace one phase, (c) wrap a phase."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from attrs import evolve
from typer.testing import CliRunner

from deployer import hookimpl
from deployer.cli import app
from deployer.config import load_project, target_config
from deployer.errors import PluginError, UsageError
from deployer.lifecycle import phase_runner
from deployer.models import PHASES, Image, NetworkResult, PhaseContext
from deployer.plugin_manager import get_plugin_manager
from deployer.testing import HookRecorder

from .memory_target import MemoryTarget

IMAGE = Image(repository="deployer/demo", content_hash="abc123", id="sha256:" + "0" * 64)
CONFIG = Path(__file__).parents[2] / "deployer.toml"
"""The repository's own config (the sample website)."""


def install_distribution(site: Path, dist: str, entry: str, source: str) -> None:
    """Write a real installed distribution into ``site``: dist-info with a ``deployer``
    entry point ``entry`` (``name = module[:attr]``) and the module's ``source``."""
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[deployer]\n{entry}\n")
    module = entry.split("=")[1].strip().split(":")[0]
    (site / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def context(pm, make_project, target: str = "memory", mode: str = "up") -> PhaseContext:
    project = load_project(make_project())
    return PhaseContext(
        app=project.app,
        target=target_config(project, pm.target(target)),
        stack="dev",
        project_dir=project.root,
        mode=mode,
        image=IMAGE,
    )


# --- discovery ------------------------------------------------------------------------


def test_builtin_targets_are_plugins_like_any_other():
    pm = get_plugin_manager()
    assert {"local", "aws-ecs"} <= set(pm.targets)
    assert pm.targets["local"].plugin == "local"
    assert set(pm.targets["local"].phases) == set(PHASES)


def test_plugin_that_fails_to_import_is_named_and_the_rest_keep_working(site):
    install_distribution(site, "deployer-broken", "broken = deployer_broken", "raise RuntimeError('boom at import')")
    pm = get_plugin_manager()
    assert [str(f) for f in pm.load_failures] == [
        "plugin 'broken' from distribution 'deployer-broken' failed to load: RuntimeError: boom at import"
    ]
    assert {"local", "aws-ecs"} <= set(pm.targets)

    result = CliRunner().invoke(app, ["targets"])
    assert result.exit_code == 0
    assert "deployer-broken" in result.output and "boom at import" in result.output
    assert "local" in result.output

    planned = CliRunner().invoke(app, ["plan", "--target", "aws-ecs", "--offline", "--config", str(CONFIG)])
    assert planned.exit_code == 0, planned.output
    warning = "warning: plugin 'broken' from distribution 'deployer-broken' failed to load: RuntimeError: boom"
    assert warning in planned.stderr and "deployer runs without it" in planned.stderr, planned.stderr


def test_entry_point_plugin_adds_a_target(site):
    install_distribution(
        site,
        "deployer-memory",
        "memory = deployer_memory:plugin",
        "from tests.core.memory_target import MemoryTarget\nplugin = MemoryTarget()\n",
    )
    pm = get_plugin_manager()
    assert pm.targets["memory"].plugin == "memory"
    result = CliRunner().invoke(app, ["targets", "--json"])
    assert '"name": "memory"' in result.output


def test_a_plugin_passed_explicitly_takes_the_place_of_its_installed_entry_point(site):
    install_distribution(
        site,
        "deployer-memory",
        "memory = deployer_memory:plugin",
        "from tests.core.memory_target import MemoryTarget\nplugin = MemoryTarget()\n",
    )
    mine = MemoryTarget()
    pm = get_plugin_manager(extra=[("memory", mine)])
    assert pm.get_plugin("memory") is mine
    assert pm.targets["memory"].plugin == "memory"


def test_two_plugins_registering_the_same_target_name():
    with pytest.raises(PluginError) as caught:
        _ = get_plugin_manager(extra=[("first-plugin", MemoryTarget()), ("second-plugin", MemoryTarget())]).targets
    message = str(caught.value)
    assert "'memory' is registered twice" in message
    assert "'first-plugin'" in message and "'second-plugin'" in message


def test_blocked_plugins_are_not_loaded():
    pm = get_plugin_manager(extra=[("memory", MemoryTarget())], environ={"DEPLOYER_DISABLE_PLUGINS": "memory, aws-ecs"})
    assert "memory" not in pm.targets and "aws-ecs" not in pm.targets
    assert "local" in pm.targets
    loaded = ", ".join(sorted(pm.targets))  # local, and any installed plugin's (the examples')
    with pytest.raises(UsageError, match=f"unknown target 'aws-ecs'; known targets: {loaded}$"):
        pm.target("aws-ecs")


def test_hook_implementation_without_a_spec_is_rejected():
    class Typo:
        @hookimpl
        def deployer_netwrok(self, ctx):
            return None

    with pytest.raises(PluginError, match="'typo'.*deployer_netwrok"):
        get_plugin_manager(extra=[("typo", Typo())])


def test_unavailable_target_says_how_to_install(monkeypatch):
    pm = get_plugin_manager()
    monkeypatch.setitem(pm.targets, "aws-ecs", evolve(pm.targets["aws-ecs"], available=False))
    with pytest.raises(UsageError, match=r'pip install "deployer\[aws\]"') as caught:
        pm.target("aws-ecs")
    assert caught.value.exit_code == 2


# --- the lifecycle, seen by plugins -----------------------------------------------------


def test_phase_order_recorded_by_an_observing_plugin(make_project):
    recorder, memory = HookRecorder(), MemoryTarget()
    pm = get_plugin_manager(extra=[("memory", memory), ("recorder", recorder)])
    timings: list[str] = []
    ctx = context(pm, make_project)
    deployment = pm.target("memory").driver().up(ctx, phase_runner(pm, observe=lambda p, s: timings.append(p)))
    assert [(c.phase, c.result_type) for c in recorder.calls] == [
        ("network", "NetworkResult"),
        ("registry", "RegistryResult"),
        ("ingress", "IngressResult"),
        ("compute", "ComputeResult"),
    ]
    assert timings == list(PHASES)
    assert deployment.endpoint == "http://127.0.0.1:9999"


def test_a_adds_a_target_used_end_to_end(make_project):
    memory = MemoryTarget("memory")
    pm = get_plugin_manager(extra=[("memory", memory)])
    ctx = context(pm, make_project)
    driver = pm.target("memory").driver()
    assert driver.plan(ctx, phase_runner(pm)).changes[0].action == "create"
    driver.up(ctx, phase_runner(pm))
    assert driver.plan(ctx, phase_runner(pm)).changes[0].action == "unchanged"
    bigger = evolve(ctx, app=evolve(ctx.app, memory=ctx.app.memory * 2, port=ctx.app.port + 1))
    (change,) = driver.plan(bigger, phase_runner(pm)).changes  # typed: the phase reports it
    assert (change.action, change.fields) == ("update", ("port", "memory"))
    assert driver.status(ctx).image == IMAGE.tag
    driver.down(ctx)
    assert not driver.status(ctx).deployed


def test_b_replaces_one_phase_of_an_existing_target(make_project):
    class BringYourOwnNetwork:
        @hookimpl(tryfirst=True)
        def deployer_network(self, ctx):
            return NetworkResult(id="vpc-0byo") if ctx.target.name == "memory" else None

    memory = MemoryTarget()
    pm = get_plugin_manager(extra=[("memory", memory), ("byo-network", BringYourOwnNetwork())])
    results = phase_runner(pm)(context(pm, make_project))
    assert results.network.id == "vpc-0byo"
    assert results.ingress.attach == "vpc-0byo/lb"  # later phases consume the replacement
    assert results.registry.image_ref == IMAGE.tag  # the other phases are the target's own


def test_c_wraps_a_phase_and_changes_its_result(make_project):
    class Waf:
        @hookimpl(wrapper=True)
        def deployer_ingress(self, ctx, network, registry):
            result = yield
            return evolve(result, extra={**result.extra, "waf": "web-acl-1"})

    pm = get_plugin_manager(extra=[("memory", MemoryTarget()), ("waf", Waf())])
    results = phase_runner(pm)(context(pm, make_project))
    assert results.ingress.extra["waf"] == "web-acl-1"
    assert results.ingress.endpoint == "http://127.0.0.1:9999"


def test_phase_nobody_claims_is_a_plugin_error(make_project):
    class Silent(MemoryTarget):
        @hookimpl(trylast=True)
        def deployer_compute(self, ctx, network, registry, ingress):
            return None

    pm = get_plugin_manager(extra=[("memory", Silent())])
    with pytest.raises(PluginError, match="no plugin implements the compute phase for target 'memory'"):
        phase_runner(pm)(context(pm, make_project))


def test_phase_returning_the_wrong_type_names_the_hook_and_the_plugins_implementing_it(make_project):
    class Wrong:
        @hookimpl(tryfirst=True)
        def deployer_registry(self, ctx, network):
            return "an image"

    class Wrapper:
        @hookimpl(wrapper=True)
        def deployer_registry(self, ctx, network):
            return (yield)

    pm = get_plugin_manager(extra=[("memory", MemoryTarget()), ("wrong", Wrong()), ("logging", Wrapper())])
    with pytest.raises(PluginError, match="deployer_registry .* returned str, expected RegistryResult") as caught:
        phase_runner(pm)(context(pm, make_project))
    implemented = str(caught.value).partition("(implemented by ")[2]
    assert {"'wrong'", "'memory'", "'logging' (wrapper)"} <= set(implemented.removesuffix(")").split(", ")), (
        caught.value
    )


def test_target_settings_are_validated_by_the_plugin(make_project):
    pm = get_plugin_manager(extra=[("memory", MemoryTarget())])
    project = load_project(
        make_project('[app]\nname = "demo"\n[app.build]\ncontext = "app"\n[targets.memory]\nport = 0\n')
    )
    with pytest.raises(Exception, match=r"targets\.memory\.port: must be between 1 and 65535"):
        target_config(project, pm.target("memory"))
