"""Targets validate the app spec for what they can run (``TargetInfo.check_app``); the
core calls the selected target's check for ``up`` and ``plan``, before anything is
built, and every other available target's whose ``[targets.<name>]`` table is in the
config (parity: what one configured target refuses is refused on all)."""

from __future__ import annotations

import pytest

from deployer import api, hookimpl
from deployer.errors import ConfigError, ConfigErrors
from deployer.plugin_manager import get_plugin_manager
from deployer.targets import APP_PARTS, TargetInfo
from deployer.testing import write_project

from .memory_target import MemoryDriver, MemoryTarget, parse_settings


class Small(MemoryTarget):
    """An in-memory target that runs at most 1024 MiB and records every check it made."""

    def __init__(self, name: str = "small", *, available: bool = True):
        super().__init__(name)
        self.available = available
        self.checked: list[tuple[int, object]] = []

    def check_app(self, app, settings) -> None:
        self.checked.append((app.memory, settings))
        if app.memory > 1024:
            raise ConfigError("app.memory", "must be at most 1024 (MiB)", value=app.memory)

    @hookimpl
    def deployer_register_targets(self, register):
        register(
            TargetInfo(
                name=self.name,
                description="deploys into memory, at most 1024 MiB (tests)",
                driver=lambda: MemoryDriver(self),
                parse_settings=parse_settings,
                check_app=self.check_app,
                available=self.available,
            )
        )


def plan(tmp_path, *, target: str, memory: int, tables: dict, small: Small):
    config = write_project(tmp_path, app={"name": "sized", "memory": memory}, targets=tables)
    pm = get_plugin_manager(extra=[("memory", MemoryTarget()), ("small", small)])
    return api.plan(api.open_session(target=target, config=config, pm=pm), offline=True)


def test_the_selected_target_refuses_an_app_it_cannot_run(tmp_path):
    small = Small()
    with pytest.raises(ConfigError) as caught:
        plan(tmp_path, target="small", memory=2048, tables={}, small=small)
    error = caught.value
    assert error.key == "app.memory" and error.exit_code == 2
    assert str(error) == f"{tmp_path / 'deployer.toml'}: app.memory: on small, must be at most 1024 (MiB) (got 2048)"


def test_another_target_without_a_table_is_not_asked(tmp_path):
    small = Small()
    assert plan(tmp_path, target="memory", memory=2048, tables={}, small=small).changes
    assert small.checked == []


def test_another_target_with_a_table_refuses_for_the_selected_one(tmp_path):
    small = Small()
    with pytest.raises(ConfigError) as caught:
        plan(tmp_path, target="memory", memory=2048, tables={"small": {"port": 8123}}, small=small)
    assert caught.value.key == "app.memory"
    assert "app.memory: on small (checked because [targets.small] is in the config), must be at most 1024" in str(
        caught.value
    )
    assert small.checked == [(2048, {"port": 8123})]  # with its own parsed settings


def test_an_app_every_configured_target_runs_passes(tmp_path):
    small = Small()
    assert plan(tmp_path, target="memory", memory=1024, tables={"small": {}}, small=small).changes
    assert small.checked == [(1024, {"port": 9999})]


def test_an_unavailable_target_is_not_asked(tmp_path):
    small = Small(available=False)
    assert plan(tmp_path, target="memory", memory=2048, tables={"small": {}}, small=small).changes
    assert small.checked == []


def test_down_status_and_logs_do_not_check(tmp_path):
    """What was deployed before a size change must stay reachable and removable."""
    small = Small()
    config = write_project(tmp_path, app={"name": "sized", "memory": 2048})
    pm = get_plugin_manager(extra=[("small", small)])
    session = api.open_session(target="small", config=config, pm=pm)
    assert not api.status(session).deployed
    api.down(session)
    assert small.checked == []


def test_the_default_check_runs_any_app():
    info = TargetInfo(name="x", description="x", driver=object)
    assert info.check_app(object(), None) is None


def test_another_targets_table_is_validated_when_its_check_runs(tmp_path):
    """Its check gets its parsed settings, so a bad key there is refused by name too; the
    check itself runs on the rest of the table (here: nothing to refuse)."""
    small = Small()
    with pytest.raises(ConfigError) as caught:
        plan(tmp_path, target="memory", memory=512, tables={"small": {"port": 0}}, small=small)
    assert [e.key for e in caught.value.errors] == ["targets.small.port"]
    assert small.checked == [(512, {"port": 9999})]  # the table without its key in error


@pytest.mark.parametrize("target", ["small", "memory"])
def test_a_tables_mistakes_and_the_targets_refusals_come_in_one_run(tmp_path, target):
    """From a trial: ``bogus = 1`` in ``[targets.local]`` hid the target's refusal of the
    app's size until the next run. Both come now, whichever target is selected."""
    small = Small()
    with pytest.raises(ConfigErrors) as caught:
        plan(tmp_path, target=target, memory=2048, tables={"small": {"port": 8123, "bogus": 1}}, small=small)
    assert [e.key for e in caught.value.errors] == ["targets.small.bogus", "app.memory"]
    assert small.checked == [(2048, {"port": 8123})]  # with the rest of its table


def test_a_table_that_does_not_parse_without_its_keys_in_error_still_gets_the_refusals_needing_no_settings(
    tmp_path,
):
    """When the table is wrong as a whole, the target's own check cannot run; the parts
    of the app it does not run are still named in the same run."""

    def unreadable(raw, key):
        raise ConfigError(key, "must name a region")

    class Unreadable(Small):
        @hookimpl
        def deployer_register_targets(self, register):
            register(TargetInfo(name="small", description="x", driver=object, parse_settings=unreadable))

    config = write_project(tmp_path, app={"name": "parts", "release_command": "python -m migrate"})
    pm = get_plugin_manager(extra=[("small", Unreadable())])
    with pytest.raises(ConfigErrors) as caught:
        api.plan(api.open_session(target="small", config=config, pm=pm), offline=True)
    assert [e.key for e in caught.value.errors] == ["targets.small", "app.release_command"]


PARTS = {"database": {"engine": "postgres"}, "workers": {"mailer": {"command": "python -m mailer"}}}


def test_parts_of_the_app_a_target_does_not_run_are_refused_before_anything(tmp_path, capsys):
    config = write_project(tmp_path, app={"name": "parts", "release_command": "python -m migrate"}, tables=PARTS)
    target = MemoryTarget()  # declares no TargetInfo.runs
    pm = get_plugin_manager(extra=[("memory", target)])
    with pytest.raises(ConfigErrors) as caught:
        api.plan(api.open_session(target="memory", config=config, pm=pm), offline=True)
    assert caught.value.exit_code == 2
    assert [e.key for e in caught.value.errors] == ["workers.mailer", "app.release_command", "database"]
    assert "database: on memory, is not provided by this target: remove it" in str(caught.value)
    assert target.stacks == {}


def test_parts_a_target_declares_it_runs_pass(tmp_path):
    workers = {"workers": PARTS["workers"]}  # a database would need a services phase too
    config = write_project(tmp_path, app={"name": "parts", "release_command": "python -m migrate"}, tables=workers)

    class RunsEverything(MemoryTarget):
        runs = frozenset(APP_PARTS)

    pm = get_plugin_manager(extra=[("memory", RunsEverything())])
    assert api.plan(api.open_session(target="memory", config=config, pm=pm), offline=True).changes
