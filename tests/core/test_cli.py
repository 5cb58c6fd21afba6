"""The CLI as users run it: the real console script in a subprocess where start-up cost
or import side effects matter, Typer's runner elsewhere."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deployer import __version__, api, cli, hookimpl
from deployer.cli import app
from deployer.models import Change, Plan, Status
from deployer.plugin_manager import get_plugin_manager
from deployer.testing import write_project
from tests.core.memory_target import MemoryTarget

KNOWN = ", ".join(sorted(get_plugin_manager().targets))
"""The targets the CLI knows here: the built-ins and the installed plugins' (the examples')."""
HEAVY = ("pulumi", "pulumi_aws", "pulumi_docker", "docker", "boto3")


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


@pytest.mark.parametrize("command", [["--help"], ["targets"], ["--version"]])
def test_help_and_targets_import_nothing_heavy(command):
    result = run_cli("-X", "importtime", "-m", "deployer", *command)
    assert result.returncode == 0, result.stderr
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert not imported & set(HEAVY), imported & set(HEAVY)


def test_json_output_loads_no_renderer_and_human_output_does():
    """``--json`` prints the result as JSON: neither deployer.render nor rich is imported
    (about 4 MiB and 25 ms); the table for a human still is."""
    for flags, rendered in ((["--json"], False), ([], True)):
        result = run_cli("-X", "importtime", "-m", "deployer", "targets", *flags)
        assert result.returncode == 0, result.stderr
        imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import ")}
        assert ("deployer.render" in imported) is rendered and ("rich.console" in imported) is rendered, flags


def test_targets_loads_no_target_settings_schema_until_a_config_uses_it():
    """aws-ecs's manifest registers its settings parser and app check without importing
    them: a run that does not use aws-ecs (here ``targets``) never loads them."""
    result = run_cli("-X", "importtime", "-m", "deployer", "targets", "--json")
    assert result.returncode == 0, result.stderr
    assert "aws-ecs" in {target["name"] for target in json.loads(result.stdout)["targets"]}
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "deployer.plugins.local_docker.settings" in imported, "the check sees what plugins import"
    assert not imported & {"deployer.plugins.aws_ecs.settings", "deployer.plugins.aws_ecs.limits"}


def test_command_signatures_are_evaluated_at_import_not_on_each_start():
    """Typer reads every command's signature on each start; a string annotation (``from
    __future__ import annotations`` in cli.py) would be evaluated again each time."""
    callbacks = [info.callback for info in app.registered_commands]
    callbacks.append(app.registered_callback.callback)
    strings = {
        f"{callback.__name__}({name})"
        for callback in callbacks
        for name, param in inspect.signature(callback).parameters.items()
        if isinstance(param.annotation, str)
    }
    assert len(callbacks) > 10
    assert not strings, strings


@pytest.mark.docker
def test_a_no_op_build_imports_no_docker_sdk(website_image):
    config = Path(__file__).resolve().parents[2] / "deployer.toml"  # builds website/ as "website"
    result = run_cli("-X", "importtime", "-m", "deployer", "build", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tag"] == website_image.tag
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert not imported & {*HEAVY, "requests", "urllib3"}


def test_targets_lists_both_builtins_with_their_phases():
    result = run_cli("-m", "deployer", "targets")
    assert result.returncode == 0, result.stderr
    for text in ("local", "aws-ecs", "network", "registry", "ingress", "compute", "available"):
        assert text in result.stdout


def test_without_the_aws_extra_aws_ecs_is_unavailable_with_the_install_command(tmp_path: Path):
    # sys.modules[name] = None makes the module unimportable, as if not installed
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\nfor m in ('pulumi', 'pulumi_aws', 'pulumi_docker'):\n    sys.modules[m] = None\n"
    )
    env = {"PYTHONPATH": str(tmp_path)}
    listing = run_cli("-m", "deployer", "targets", "--json", env=env)
    assert listing.returncode == 0, listing.stderr
    targets = {t["name"]: t for t in json.loads(listing.stdout)["targets"]}
    assert targets["local"]["available"] is True
    assert targets["aws-ecs"]["available"] is False
    assert targets["aws-ecs"]["install_hint"] == 'pip install "deployer[aws]"'
    assert 'pip install "deployer[aws]"' in run_cli("-m", "deployer", "targets", env=env).stdout

    repo = Path(__file__).parents[2]
    plan = run_cli(
        "-m", "deployer", "plan", "--target", "aws-ecs", "--offline", "--config", str(repo / "deployer.toml"), env=env
    )
    assert plan.returncode == 2
    assert 'pip install "deployer[aws]"' in plan.stderr
    assert "Traceback" not in plan.stderr


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"deployer {__version__}"


def test_unknown_target_is_a_usage_error(make_project):
    result = CliRunner().invoke(app, ["plan", "--target", "nowhere", "--config", str(make_project())])
    assert result.exit_code == 2
    assert f"unknown target 'nowhere'; known targets: {KNOWN}\n" in result.stderr


@pytest.mark.parametrize("stack", ["Prod!", "-x", "a" * 17])
def test_bad_stack_name_is_a_usage_error_saying_what_a_name_is(make_project, stack):
    result = CliRunner().invoke(app, ["status", "--stack", stack, "--config", str(make_project())])
    assert result.exit_code == 2
    assert "1-16 lowercase letters, digits or dashes, starting with a letter or digit" in result.stderr


def test_json_errors_are_one_document_on_stdout(make_project):
    result = CliRunner().invoke(app, ["plan", "--json", "--target", "nowhere", "--config", str(make_project())])
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "error": f"unknown target 'nowhere'; known targets: {KNOWN}",
        "exit_code": 2,
    }


def test_interrupt_exits_130(make_project, monkeypatch):
    def interrupted(session):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "status", interrupted)
    result = CliRunner().invoke(app, ["status", "--config", str(make_project())])
    assert result.exit_code == 130
    assert "interrupted" in result.stderr


@pytest.mark.parametrize(("healthy", "code"), [(1, 1), (2, 0)])
def test_status_exits_1_when_degraded_saying_what_to_run(make_project, monkeypatch, healthy, code):
    monkeypatch.setattr(
        api, "status", lambda session: Status("memory", "dev", True, "http://x", healthy=healthy, desired=2)
    )
    shown = CliRunner().invoke(app, ["status", "--config", str(make_project())])
    assert shown.exit_code == code
    assert ("DEGRADED: 1/2 healthy" in shown.stdout and "deployer up --target memory" in shown.stdout) == (code == 1)
    document = CliRunner().invoke(app, ["status", "--json", "--config", str(make_project())])
    assert document.exit_code == code
    assert json.loads(document.stdout)["degraded"] is (code == 1)
    assert ("deployer up --target memory --stack dev" in json.loads(document.stdout)["advice"]) == (code == 1)


@pytest.mark.parametrize(("flags", "destroy_data"), [([], False), (["--destroy-data"], True), (["--volumes"], True)])
def test_down_destroy_data_and_volumes_are_one_option(make_project, monkeypatch, flags, destroy_data):
    """``--volumes`` (compose's word, local) and ``--destroy-data`` (aws-ecs) are the same
    option: the library's and the driver's one ``destroy_data``."""
    seen = []
    monkeypatch.setattr(api, "down", lambda session, images, destroy_data: seen.append(destroy_data))
    result = CliRunner().invoke(app, ["down", *flags, "--config", str(make_project())])
    assert result.exit_code == 0, result.output
    assert seen == [destroy_data]
    assert result.stdout == "local/dev is down\n"  # true of a second down too (it removes nothing)


def test_plan_json_carries_the_fields_of_each_change(make_project, monkeypatch):
    change = Change("replace", "container", "c-1", "by c-2", fields=("image", "secret values"))
    monkeypatch.setattr(api, "plan", lambda session, offline: Plan("memory", "dev", changes=(change,)))
    document = json.loads(CliRunner().invoke(app, ["plan", "--json", "--config", str(make_project())]).stdout)
    assert document["changes"] == [
        {
            "action": "replace",
            "kind": "container",
            "name": "c-1",
            "detail": "by c-2",
            "fields": ["image", "secret values"],
        }
    ]


def test_since_is_parsed_once_for_every_target(monkeypatch):
    """Ages count back from now; a time without a zone is local time, as with docker logs."""
    import time
    from datetime import UTC, datetime

    from deployer.errors import UsageError

    assert api.parse_since("10m", now=1000.0) == datetime.fromtimestamp(400, UTC)
    assert api.parse_since("2024-05-01T00:00:00+00:00", now=0).timestamp() == 1714521600
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert api.parse_since("2024-05-01T12:00:00", now=0).timestamp() == 1714579200
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    with pytest.raises(UsageError, match="--since: 'yesterday'"):
        api.parse_since("yesterday", now=0)
    with pytest.raises(UsageError, match="--since: '99999999h' reaches back before 1970"):
        api.parse_since("99999999h", now=time.time())
    with pytest.raises(UsageError, match="--since: '1969-12-31T23:59:59Z' is before 1970"):
        api.parse_since("1969-12-31T23:59:59Z", now=time.time())  # the engine refused it, exit 1
    with pytest.raises(UsageError, match="--since: '0001-01-01T00:00:00' must be an age"):
        api.parse_since("0001-01-01T00:00:00", now=time.time())  # local time cannot hold it: ValueError


# --- an option that takes one value, given twice ------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["up", "--stack", "a", "--stack", "b"], "'--stack' / '-s'"),
        (["up", "-s", "a", "--stack", "b"], "'--stack' / '-s'"),
        (["plan", "--target", "local", "-t", "aws-ecs"], "'--target' / '-t'"),
        (["down", "--config", "a.toml", "--config", "b.toml"], "'--config' / '-c'"),
        (["status", "--stack", "a", "--stack", "a"], "'--stack' / '-s'"),
        (["logs", "--since", "1h", "--since", "2h"], "'--since'"),
        (["build", "-c", "a.toml", "-c", "b.toml"], "'--config' / '-c'"),
        (["verify", "--url", "http://a", "--url", "http://b"], "'--url'"),
    ],
)
def test_an_option_given_twice_is_refused_before_anything_runs(args, named, monkeypatch):
    def must_not_run(**kwargs):
        raise AssertionError("a session was opened")

    monkeypatch.setattr(api, "open_session", must_not_run)
    result = CliRunner().invoke(app, args)

    assert result.exit_code == 2
    assert f"Invalid value for {named}: given more than once" in result.output


@pytest.mark.parametrize(
    ("args", "refused"),
    [(["exec", "--json", "--", "true"], "--json"), (["run", "--bogus"], "--bogus"), (["exec", "-x"], "-x")],
)
def test_exec_and_run_refuse_an_unknown_option_instead_of_running_it(args, refused, monkeypatch):
    """An option before ``--`` is deployer's: an unknown one is a usage error, not the
    command to run (``exec --json -- true`` ran ``--json`` in the replica)."""

    def must_not_run(**kwargs):
        raise AssertionError("a session was opened")

    monkeypatch.setattr(api, "open_session", must_not_run)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and f"No such option: {refused}" in result.output


def test_exec_and_run_pass_everything_after_the_double_dash(monkeypatch, make_project):
    seen = []
    monkeypatch.setattr(api, "exec_in_replica", lambda session, command, **kwargs: seen.append(command) or 0)
    monkeypatch.setattr(api, "run_once", lambda session, command: seen.append(command) or 0)
    config = str(make_project())
    for command in ("exec", "run"):
        result = CliRunner().invoke(app, [command, "--config", config, "--", "sh", "-c", "ls --all", "--json"])
        assert result.exit_code == 0, result.output
    assert seen == [["sh", "-c", "ls --all", "--json"]] * 2


def test_every_command_refuses_repeated_options():
    """One mechanism for all commands: each is built with the refusing command class."""
    import typer.main

    group = typer.main.get_command(app)
    assert isinstance(group, cli._Group)
    assert group.commands and all(isinstance(command, cli._Command) for command in group.commands.values())


def test_flags_and_single_options_are_still_accepted(make_project):
    result = CliRunner().invoke(
        app, ["plan", "--json", "--json", "--target", "nowhere", "--config", str(make_project())]
    )
    assert result.exit_code == 2 and "unknown target 'nowhere'" in result.stdout


# --- an unexpected exception: one line naming whose code raised it -------------------------


class BrokenNetwork:
    """A third-party-style plugin whose network phase has a bug."""

    @hookimpl(tryfirst=True)
    def deployer_network(self, ctx):
        raise RuntimeError("subnet table is empty")


@pytest.fixture
def broken_plugin(deployer_plugin_manager, make_project, monkeypatch):
    """``plan --offline --target memory`` with a plugin that raises in its network phase
    (the image is resolved without Docker)."""
    from deployer import api
    from deployer.models import Image

    deployer_plugin_manager(("memory", MemoryTarget()), ("broken-net", BrokenNetwork()))
    built = Image("deployer/demo", "0" * 16, id="sha256:" + "0" * 64, user="app")
    monkeypatch.setattr(api, "resolve_image", lambda app: built)
    monkeypatch.delenv("DEPLOYER_DEBUG", raising=False)
    return ["plan", "--offline", "--target", "memory", "--config", str(make_project())]


def test_a_plugin_that_raises_is_named_in_one_line_without_a_traceback(broken_plugin):
    result = CliRunner().invoke(app, broken_plugin)

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: deployer plan failed in plugin 'broken-net': RuntimeError: subnet table is empty "
        "(run with --debug for the traceback)"
    ]
    assert "Traceback" not in result.output


def test_json_output_gets_the_same_line_as_a_document(broken_plugin):
    result = CliRunner().invoke(app, [*broken_plugin, "--json"])

    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "error": "deployer plan failed in plugin 'broken-net': RuntimeError: subnet table is empty "
        "(run with --debug for the traceback)",
        "exit_code": 1,
    }


@pytest.mark.parametrize(("flag", "env"), [(["--debug"], {}), ([], {"DEPLOYER_DEBUG": "1"})])
def test_debug_shows_the_full_traceback(broken_plugin, flag, env):
    result = CliRunner().invoke(app, [*flag, *broken_plugin], env=env)

    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "in deployer_network" in result.stderr and 'raise RuntimeError("subnet table is empty")' in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "error: deployer plan failed in plugin 'broken-net': RuntimeError: subnet table is empty"
    )


def test_an_unexpected_error_in_the_core_names_no_plugin(make_project, monkeypatch):
    def broken(session):
        return {}["endpoint"]

    monkeypatch.setattr(api, "status", broken)
    monkeypatch.delenv("DEPLOYER_DEBUG", raising=False)
    result = CliRunner().invoke(app, ["status", "--config", str(make_project())])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: deployer status failed: KeyError: 'endpoint' (run with --debug for the traceback)"
    ]


def test_the_console_script_prints_no_traceback(tmp_path):
    """The real entry point, where nothing catches what the CLI lets through."""
    (tmp_path / "sitecustomize.py").write_text(
        "import deployer.api\ndef broken(session):\n    raise OSError('disk on fire')\ndeployer.api.status = broken\n"
    )
    config = Path(__file__).resolve().parents[2] / "deployer.toml"
    env = {"PYTHONPATH": str(tmp_path), "DEPLOYER_DEBUG": ""}

    result = run_cli("-m", "deployer", "status", "--config", str(config), env=env)

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: deployer status failed: OSError: disk on fire (run with --debug for the traceback)"
    )


def raising_in(*modules: str) -> BaseException:
    """An exception raised through functions defined in ``modules`` (outermost first), as
    if each lived in that module: the frames ``culprit`` walks."""
    call = None
    for module in reversed(modules):
        namespace = {"__name__": module, "inner": call}
        body = "    inner()\n" if call else "    raise RuntimeError('boom')\n"
        exec(compile("def step():\n" + body, f"<{module}>", "exec"), namespace)
        call = namespace["step"]
    try:
        call()
    except RuntimeError as exc:
        return exc
    raise AssertionError("did not raise")


@pytest.mark.parametrize(
    ("modules", "expected"),
    [
        (["deployer.api", "deployer.plugins.local_docker.driver"], "in plugin 'local'"),
        (["deployer.api", "deployer.plugins.someday.phases"], "in plugin 'someday'"),
        (
            ["deployer.lifecycle", "pluggy._callers", "deployer_byo_vpc"],
            "in plugin 'byo-vpc' (distribution deployer-byo-vpc)",
        ),
        (["deployer.image", "docker.api.build", "json.decoder"], "in docker"),
        (["deployer.plugins.local_docker.driver", "docker.models.containers"], "in plugin 'local', inside docker"),
        (["deployer.api", "deployer.plugins.aws_ecs.driver", "deployer.verify"], "in plugin 'aws-ecs'"),
        (["deployer.api", "json.decoder"], ""),
        (["docker.utils", "deployer.image"], ""),
    ],
)
def test_the_culprit_is_found_by_walking_the_frames(modules, expected):
    from deployer.crash import culprit

    assert culprit(raising_in(*modules).__traceback__).describe() == expected


def test_a_plugin_registered_from_any_module_is_named_by_its_registered_name():
    from deployer.crash import culprit

    plugin = type("Plugin", (), {"__module__": "my_local_hooks"})()

    found = culprit(raising_in("deployer.lifecycle", "my_local_hooks").__traceback__, [("mine", plugin)])

    assert found.describe() == "in plugin 'mine'"


@pytest.mark.docker
def test_a_reader_that_goes_away_stops_the_command_quietly(tmp_path):
    """``deployer status | head -0``: the pipe closes before the output is written; the
    command exits 141 without a word (as the two commands below), where deployer
    reported a crash of its own before."""
    config = write_project(tmp_path, app={"name": "piped"})
    process = subprocess.Popen(
        [sys.executable, "-m", "deployer", "status", "--target", "local", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == cli.EXIT_READER_GONE, stderr
    assert stderr == "", stderr


@pytest.mark.parametrize(
    "args",
    [["targets"], ["plan", "--target", "aws-ecs", "--offline", "--json", "--config", "deployer.toml"]],
    ids=["rich", "json"],
)
def test_a_reader_that_left_ends_the_command_with_141_and_no_error(args):
    """``deployer ... | head``: the exit code a tool that SIGPIPE ends has, nothing on
    stderr about it; not 1, which says the deployment failed (rich exited 1)."""
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "deployer", *args]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader leaves before anything is written
    errors = process.stderr.read().decode()
    assert process.wait(timeout=60) == cli.EXIT_READER_GONE == 141, errors
    assert "Error" not in errors and "Traceback" not in errors, errors


def test_ctrl_c_while_the_cli_loads_is_one_line_and_exit_130():
    """The console script (``deployer.__main__:main``) imports the CLI itself: a Ctrl-C in
    that first fraction of a second printed a 15-24 line traceback."""
    interrupt_on_typer = (
        "import builtins, sys\n"
        "real = builtins.__import__\n"
        "def interrupted(name, *args, **kwargs):\n"
        "    if name == 'typer':\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = interrupted\n"
        "from deployer.__main__ import main\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", interrupt_on_typer, "status"], capture_output=True, text=True)
    assert result.returncode == 130, result.stderr
    assert result.stderr == "error: interrupted; run the same command again to converge\n"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["status", "--json", "--stack", "a", "--stack", "b"], "given more than once; give it once"),
        (["status", "--json", "--bogus"], "No such option: --bogus"),
        (["rollback", "--json", "abc"], "'abc' is not a valid int"),
        (["up", "--watch", "--json"], "--watch: cannot be combined with --json"),
    ],
)
def test_a_command_line_mistake_is_one_json_document_with_json(args, said, tmp_path):
    """Mistakes the parser finds before any command runs honour --json too: exactly one
    JSON document on standard output, the line on standard error, exit 2."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "deployer", *args], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    document = json.loads(done.stdout)
    assert document["exit_code"] == 2 and said in document["error"], document
    assert said in done.stderr


def test_output_that_cannot_be_written_is_one_error_line_and_a_closed_stdout_is_no_error():
    """``> /dev/full``: exit 1 and one line on stderr saying the output was lost (before:
    two chained tracebacks). ``>&-``: the command runs and prints nothing (before: an
    AttributeError on the missing stream, exit 1)."""
    import subprocess
    import sys

    deployer = [sys.executable, "-m", "deployer", "targets", "--json"]
    with open("/dev/full", "w") as full:
        done = subprocess.run(deployer, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: the command ran, but its output could not be written: No space left on device"
    ]
    closed = subprocess.run(
        ["bash", "-c", '"$0" -m deployer targets >&-', sys.executable], capture_output=True, text=True, timeout=60
    )
    assert (closed.returncode, closed.stderr) == (0, ""), closed.stderr
