"""The CLI as users run it: the real console script in a subprocess where start-up cost
or import side effects matter, Typer's runner elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deployer import __version__, api
from deployer.cli import app

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
    assert "unknown target 'nowhere'; known targets: aws-ecs, local" in result.stderr


def test_bad_stack_name_is_a_usage_error(make_project):
    result = CliRunner().invoke(app, ["status", "--stack", "Prod!", "--config", str(make_project())])
    assert result.exit_code == 2 and "--stack" in result.stderr


def test_json_errors_are_one_document_on_stdout(make_project):
    result = CliRunner().invoke(app, ["plan", "--json", "--target", "nowhere", "--config", str(make_project())])
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "error": "unknown target 'nowhere'; known targets: aws-ecs, local",
        "exit_code": 2,
    }


def test_interrupt_exits_130(make_project, monkeypatch):
    def interrupted(session):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "status", interrupted)
    result = CliRunner().invoke(app, ["status", "--config", str(make_project())])
    assert result.exit_code == 130
    assert "interrupted" in result.stderr


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


def test_every_command_refuses_repeated_options():
    """One mechanism for all commands: each is built with the refusing command class."""
    import typer.main

    from deployer import cli

    group = typer.main.get_command(app)
    assert isinstance(group, cli._RefuseRepeats)
    assert group.commands and all(isinstance(command, cli._RefuseRepeats) for command in group.commands.values())


def test_flags_and_single_options_are_still_accepted(make_project):
    result = CliRunner().invoke(
        app, ["plan", "--json", "--json", "--target", "nowhere", "--config", str(make_project())]
    )
    assert result.exit_code == 2 and "unknown target 'nowhere'" in result.stdout
