"""Backing services, workers and the release command: their config (every error at once,
exit 2, naming the key) and the services phase (between network and registry, passed on
as ``ctx.services``), extended by a plugin with a second kind of service without touching
the core."""

from __future__ import annotations

import attrs
import pytest

from deployer import hookimpl
from deployer.config import load_project, target_config
from deployer.errors import ConfigErrors, PluginError
from deployer.lifecycle import phase_runner
from deployer.models import Image, PhaseContext
from deployer.plugin_manager import get_plugin_manager
from deployer.services import DatabaseSpec, ServicesResult, WorkerSpec, postgres_env

from .memory_target import MemoryTarget

IMAGE = Image(repository="deployer/demo", content_hash="abc123", id="sha256:" + "0" * 64)
BASE = """
[app]
name = "demo"
port = 8000
{app}

[app.build]
context = "app"
"""

FULL = (
    BASE.format(app='release_command = "python -m myapp.migrate --check"')
    + """
[workers.mailer]
command = ["python", "-m", "myapp.worker"]
replicas = 2
cpu = 512
memory = 1024

[workers.reports]
command = "python -m myapp.reports"

[database]
engine = "postgres"
version = "15"
storage_gb = 50
"""
)


def test_a_full_config_parses_into_the_app_spec(make_project):
    app = load_project(make_project(FULL)).app
    assert app.release_command == ("python", "-m", "myapp.migrate", "--check")
    assert app.workers == (
        WorkerSpec("mailer", ("python", "-m", "myapp.worker"), replicas=2, cpu=512, memory=1024),
        WorkerSpec("reports", ("python", "-m", "myapp.reports")),
    )
    assert app.database == DatabaseSpec(engine="postgres", version="15", storage_gb=50)


def test_postgres_18_is_a_version(make_project):
    """RDS runs PostgreSQL 18: https://docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/postgresql-versions.html"""
    text = BASE.format(app="") + '\n[database]\nversion = "18"\n'
    assert load_project(make_project(text)).app.database == DatabaseSpec(version="18")


def test_without_the_new_tables_nothing_changes(make_project):
    app = load_project(make_project(BASE.format(app=""))).app
    assert (app.release_command, app.workers, app.database) == (None, (), None)


def test_every_error_is_reported_at_once_naming_its_key(make_project):
    text = (
        BASE.format(app='release_command = ""')
        + """
[workers.Mailer]
replicas = -1
colour = "red"

[workers.ok]
command = []

[database]
engine = "mysql"
version = "9"
storage_gb = 5
"""
    )
    with pytest.raises(ConfigErrors) as caught:
        load_project(make_project(text))
    keys = sorted(error.key for error in caught.value.errors)
    assert keys == [
        "app.release_command",
        "database.engine",
        "database.storage_gb",
        "database.version",
        "workers.Mailer",
        "workers.Mailer.colour",
        "workers.Mailer.command",
        "workers.Mailer.replicas",
        "workers.ok.command",
    ]
    assert caught.value.exit_code == 2
    message = str(caught.value)
    assert "workers.Mailer.command: is required" in message
    assert "database.engine: must be one of postgres" in message


def test_database_env_quotes_the_password_in_the_url():
    env = postgres_env(host="db", port=5432, database="demo", user="app", password="p@ss/w:rd")
    assert env["DATABASE_URL"] == "postgresql://app:p%40ss%2Fw%3Ard@db:5432/demo"
    assert (env["PGHOST"], env["PGPORT"], env["PGPASSWORD"]) == ("db", "5432", "p@ss/w:rd")
    assert "p@ss" not in repr(ServicesResult(env=env, services=("database",)))


# --- the phase --------------------------------------------------------------------------


class Recorder:
    """Records the ``ctx.services`` each later phase sees."""

    def __init__(self) -> None:
        self.seen: dict[str, ServicesResult | None] = {}

    @hookimpl(wrapper=True)
    def deployer_registry(self, ctx):
        self.seen["registry"] = ctx.services
        return (yield)

    @hookimpl(wrapper=True)
    def deployer_compute(self, ctx):
        self.seen["compute"] = ctx.services
        return (yield)


class MemoryDatabase:
    """The memory target's database: what a target author writes."""

    @hookimpl(trylast=True)
    def deployer_services(self, ctx, network):
        if ctx.target.name != "memory" or ctx.app.database is None:
            return None
        env = postgres_env(host=f"{network.id}-db", port=5432, database=ctx.app.name, user="app", password="s3cret")
        return ServicesResult(env=env, services=("database",))


class FakeRedis:
    """A second kind of backing service, added by wrapping the hook: no core change."""

    @hookimpl(wrapper=True)
    def deployer_services(self, ctx, network):
        result = yield
        base = result or ServicesResult()
        return attrs.evolve(
            base,
            env={**base.env, "REDIS_URL": f"redis://{network.id}-redis:6379/0"},
            services=(*base.services, "redis"),
        )


def run(make_project, text: str, *plugins) -> tuple[object, Recorder]:
    recorder = Recorder()
    pm = get_plugin_manager(extra=[("memory", MemoryTarget()), ("recorder", recorder), *plugins])
    project = load_project(make_project(text))
    ctx = PhaseContext(
        app=project.app,
        target=target_config(project, pm.target("memory")),
        stack="dev",
        project_dir=project.root,
        image=IMAGE,
    )
    phases: list[str] = []
    results = phase_runner(pm, observe=lambda name, seconds: phases.append(name))(ctx)
    recorder.seen["order"] = phases  # type: ignore[assignment]
    return results, recorder


def test_a_target_without_services_still_runs_an_app_without_a_database(make_project):
    results, recorder = run(make_project, BASE.format(app=""))
    assert results.services == ServicesResult()
    assert recorder.seen["compute"] == ServicesResult()
    assert recorder.seen["order"] == ["network", "registry", "ingress", "compute"]


def test_a_database_no_target_provides_is_a_plugin_error(make_project):
    with pytest.raises(PluginError, match=r"target 'memory' provides no backing services .* declares: database"):
        run(make_project, FULL)


def test_services_run_after_network_and_reach_every_later_phase(make_project):
    results, recorder = run(make_project, FULL, ("memory-db", MemoryDatabase()))
    assert recorder.seen["order"] == ["network", "services", "registry", "ingress", "compute"]
    assert results.services is not None and results.services.services == ("database",)
    assert recorder.seen["registry"] is results.services and recorder.seen["compute"] is results.services
    assert recorder.seen["compute"].env["PGHOST"] == "demo-dev-net-db"


def test_a_plugin_adds_a_second_kind_of_service_by_wrapping_the_hook(make_project):
    results, recorder = run(make_project, FULL, ("memory-db", MemoryDatabase()), ("fake-redis", FakeRedis()))
    env = recorder.seen["compute"].env
    assert results.services.services == ("database", "redis")
    assert env["REDIS_URL"] == "redis://demo-dev-net-redis:6379/0"
    assert env["DATABASE_URL"] == "postgresql://app:s3cret@demo-dev-net-db:5432/demo"


def test_a_services_result_of_the_wrong_type_is_a_plugin_error(make_project):
    class Wrong:
        @hookimpl(tryfirst=True)
        def deployer_services(self, ctx):
            return {"DATABASE_URL": "x"}

    with pytest.raises(PluginError, match="returned dict, expected ServicesResult"):
        run(make_project, BASE.format(app=""), ("wrong", Wrong()))


def test_the_database_variables_are_deployers_not_the_apps(make_project):
    text = (
        BASE.format(app='env = { PGHOST = "elsewhere" }\nsecrets = ["PGPASSWORD"]') + '\n[database]\nversion = "15"\n'
    )
    with pytest.raises(ConfigErrors, match=r"database: sets PGHOST, PGPASSWORD for every workload"):
        load_project(make_project(text))


def test_down_destroy_data_and_run_on_a_target_without_them_are_usage_errors(make_project):
    from deployer import api
    from deployer.errors import UsageError

    pm = get_plugin_manager(extra=[("memory", MemoryTarget())])
    session = api.open_session(target="memory", config=make_project(BASE.format(app="")), pm=pm)
    with pytest.raises(UsageError, match="target 'memory' does not support down --destroy-data"):
        api.down(session, destroy_data=True)
    with pytest.raises(UsageError, match="target 'memory' does not support run"):
        api.run_once(session, ["true"])
    with pytest.raises(UsageError, match="run: give the command to run"):
        api.run_once(session, [])
    api.down(session)  # without --destroy-data it works as before
