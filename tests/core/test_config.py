"""The config loader: a good config, the pyproject variant, and a table of bad ones.

Each bad config must fail with the file, the exact key path, and exit code 2, through
the real CLI (``deployer plan``), before anything is built.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deployer.cli import app
from deployer.config import load_project, resolve_secrets
from deployer.errors import ConfigError

GOOD = """
[app]
name = "shop-web"
port = 8080
command = "gunicorn -b 0.0.0.0:8080 app:app"
secrets = ["API_TOKEN"]
cpu = 512
memory = 2048
replicas = { min = 2, max = 4 }

[app.build]
context = "app"
args = { PYTHON = "3.12", DEBUG = false, LEVEL = 3 }

[app.env]
GREETING = "hello"

[app.health]
path = "/ready"
interval = 15
timeout = 5

[targets.local]
host_port = 9000
"""


def test_good_config_gives_the_spec(make_project):
    project = load_project(make_project(GOOD))
    app_spec = project.app
    assert app_spec.name == "shop-web"
    assert app_spec.port == 8080
    assert app_spec.command == ("gunicorn", "-b", "0.0.0.0:8080", "app:app")
    assert app_spec.secrets == ("API_TOKEN",)
    assert (app_spec.cpu, app_spec.memory) == (512, 2048)
    assert (app_spec.replicas.min, app_spec.replicas.max, app_spec.replicas.autoscaling) == (2, 4, True)
    assert dict(app_spec.build.args) == {"PYTHON": "3.12", "DEBUG": "false", "LEVEL": "3"}
    assert app_spec.build.context == project.root / "app"
    assert dict(app_spec.env) == {"GREETING": "hello"}
    assert app_spec.health.path == "/ready"
    assert dict(project.targets["local"]) == {"host_port": 9000}


def test_defaults(make_project):
    app_spec = load_project(make_project()).app
    assert (app_spec.cpu, app_spec.memory, app_spec.replicas.min, app_spec.health.path) == (256, 512, 1, "/healthz")
    assert app_spec.command is None and app_spec.secrets == ()


def test_the_core_takes_any_positive_size_targets_decide_what_they_run(make_project):
    """No target's table in the core: a pair Fargate does not offer is a valid app spec;
    the targets refuse it for up and plan (TargetInfo.check_app, tests/core/test_check_app.py)."""
    app_spec = load_project(make_project(BASE.replace('name = "demo"', 'name = "demo"\ncpu = 300\nmemory = 700'))).app
    assert (app_spec.cpu, app_spec.memory) == (300, 700)


def test_pyproject_tool_table(make_project, tmp_path):
    config = make_project(
        """
        [project]
        name = "x"
        [tool.deployer.app]
        name = "from-pyproject"
        [tool.deployer.app.build]
        context = "app"
        """,
        name="pyproject.toml",
    )
    assert load_project(cwd=tmp_path).app.name == "from-pyproject"
    assert load_project(config).config_file == config


def test_found_from_a_subfolder(make_project, tmp_path):
    make_project()
    (tmp_path / "deep" / "er").mkdir(parents=True)
    assert load_project(cwd=tmp_path / "deep" / "er").app.name == "demo"


def test_missing_secret_names_the_variable(make_project):
    project = load_project(make_project(GOOD))
    with pytest.raises(ConfigError, match=r"app\.secrets\[0\].*API_TOKEN"):
        resolve_secrets(project, {})
    assert resolve_secrets(project, {"API_TOKEN": "s3cret"}) == {"API_TOKEN": "s3cret"}


BASE = '[app]\nname = "demo"\n[app.build]\ncontext = "app"\n'

# (config text, the key path the error must name, a fragment of what is allowed)
BAD = [
    ('[app]\nport = 80\n[app.build]\ncontext = "app"\n', "app.name", "required"),
    ('[app]\nname = "Demo_App"\n[app.build]\ncontext = "app"\n', "app.name", "lowercase"),
    ('[app]\nname = "demo-"\n[app.build]\ncontext = "app"\n', "app.name", "ending with a letter or digit"),
    ('[app]\nname = "café"\n[app.build]\ncontext = "app"\n', "app.name", "ASCII lowercase"),
    (BASE + "[app.x]\n", "app.x", "not a known key"),
    (BASE.replace('name = "demo"', 'name = "demo"\nport = 70000'), "app.port", "between 1 and 65535"),
    (BASE.replace('name = "demo"', 'name = "demo"\nport = "80"'), "app.port", "integer"),
    (BASE.replace('context = "app"', 'context = "nowhere"'), "app.build.context", "folder"),
    (BASE + 'dockerfile = "Nope.dockerfile"\n', "app.build.dockerfile", "does not exist in"),
    (BASE.replace('name = "demo"', 'name = "demo"\ncpu = 0'), "app.cpu", "at least 1"),
    (BASE.replace('name = "demo"', 'name = "demo"\nmemory = -512'), "app.memory", "at least 1"),
    (BASE.replace('name = "demo"', 'name = "demo"\nmemory = "1GB"'), "app.memory", "integer"),
    (BASE.replace('name = "demo"', 'name = "demo"\nreplicas = 0'), "app.replicas", "between 1 and 100"),
    (BASE.replace('name = "demo"', 'name = "demo"\nreplicas = { min = 3, max = 2 }'), "app.replicas.max", "at least"),
    (BASE.replace('name = "demo"', 'name = "demo"\nreplicas = "many"'), "app.replicas", "count"),
    (BASE.replace('name = "demo"', 'name = "demo"\nsecrets = ["OK", 5]'), "app.secrets[1]", "string"),
    (BASE.replace('name = "demo"', 'name = "demo"\nsecrets = ["A", "A"]'), "app.secrets[1]", "twice"),
    (BASE.replace('name = "demo"', 'name = "demo"\nsecrets = ["1BAD"]'), "app.secrets[0]", "letters"),
    (
        BASE.replace('name = "demo"', 'name = "demo"\nsecrets = ["A"]') + '[app.env]\nA = "x"\n',
        "app.secrets[0]",
        "also set",
    ),
    (BASE + '[app.env]\nPORT = "1"\n', "app.env.PORT", "app.port"),
    (BASE + '[app.env]\n"BAD-NAME" = "1"\n', "app.env.BAD-NAME", "not a valid name"),
    (BASE + "[app.env]\nLIST = [1]\n", "app.env.LIST", "string, number or boolean"),
    (BASE + '[app.health]\npath = "healthz"\n', "app.health.path", "starting with /"),
    (BASE + "[app.health]\ninterval = 5\ntimeout = 5\n", "app.health.timeout", "shorter than"),
    (BASE + "[app.health]\nretries = 0\n", "app.health.retries", "between 1 and 10"),
    (BASE.replace('name = "demo"', 'name = "demo"\ncommand = []'), "app.command", "must not be empty"),
    (BASE.replace('name = "demo"', 'name = "demo"\ncommand = "sh -c \'x"'), "app.command", "split"),
    (BASE + '[targets]\nlocal = "yes"\n', "targets.local", "table"),
    (BASE + "[targets.local]\nbogus = 1\n", "targets.local.bogus", "not a known key"),
    ("unknown_top = 1\n" + BASE, "unknown_top", "not a known key"),
    ("[app\nname=", "(syntax)", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "key", "allowed"), BAD, ids=[f"{i:02d}-{b[1]}" for i, b in enumerate(BAD)])
def test_bad_config_names_the_key_and_exits_2(make_project, text, key, allowed):
    config = make_project(text)
    with pytest.raises(ConfigError) as caught:
        project = load_project(config)
        # target sections are checked by their plugin when the target is selected
        from deployer.config import target_config
        from deployer.plugin_manager import get_plugin_manager

        target_config(project, get_plugin_manager().target("local"))
    message = str(caught.value)
    assert message.startswith(f"{config}: {key}: "), message
    assert allowed in message
    assert caught.value.exit_code == 2

    result = CliRunner().invoke(app, ["plan", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert f"{key}:" in result.output


def test_bad_config_changes_nothing(make_project, tmp_path):
    config = make_project(BAD[7][0])
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert CliRunner().invoke(app, ["up", "--config", str(config)]).exit_code == 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_missing_config_file_is_a_usage_error(tmp_path: Path):
    result = CliRunner().invoke(app, ["plan", "--config", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2
    assert "--config: file not found" in result.output


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda path: path.mkdir(), "--config: is a folder, not a file"),
        (lambda path: os.mkfifo(path), "--config: is not a regular file"),
        (lambda path: path.symlink_to("/dev/zero"), "--config: is not a regular file"),
        (lambda path: path.write_bytes(codecs.BOM_UTF8 + b'[app]\nname = "demo"\n'), "byte order mark (BOM)"),
        (
            lambda path: path.write_bytes(b"\xff\xfe[app]\n"),
            "is not UTF-8 text (byte 0xff at offset 0): save it as UTF-8",
        ),
        (lambda path: path.symlink_to("nowhere.toml"), "--config: is a symbolic link to nothing"),
        (
            lambda path: path.symlink_to(path.name),
            "--config: is a symbolic link to nothing (its target is missing, or it loops)",
        ),
        (lambda path: path.write_bytes(b"x = " + b"[" * 2000 + b"]" * 2000), "nests arrays or tables hundreds"),
        (lambda path: path.write_bytes(b'[app]\nname = "a\x00b"\n'), "holds a NUL byte (offset 15)"),
    ],
    ids=["folder", "fifo", "device", "bom", "binary", "dangling-link", "link-loop", "deep", "nul"],
)
def test_a_config_path_that_is_no_toml_file_says_what_it_is(tmp_path: Path, make, problem):
    make(tmp_path / "deployer.toml")
    result = CliRunner().invoke(app, ["plan", "--config", str(tmp_path / "deployer.toml")])
    assert result.exit_code == 2
    assert problem in result.output


@pytest.mark.parametrize(
    "make",
    [lambda path: path.mkdir(), lambda path: path.symlink_to("nowhere.toml"), lambda path: os.mkfifo(path)],
    ids=["folder", "dangling-link", "fifo"],
)
def test_a_broken_config_found_by_the_search_is_an_error_not_skipped_for_one_above(tmp_path: Path, monkeypatch, make):
    """A parent folder's config must not be used in its place: ``down`` would then remove
    the parent's app."""
    (tmp_path / "deployer.toml").write_text('[app]\nname = "parent"\nport = 8000\n')
    child = tmp_path / "child"
    child.mkdir()
    make(child / "deployer.toml")
    monkeypatch.chdir(child)
    result = CliRunner().invoke(app, ["down"])
    assert result.exit_code == 2, result.output
    assert f"deployer.toml: {child / 'deployer.toml'} is" in result.output
    assert "the search stops at the nearest" in result.output


def test_a_date_is_shown_as_toml_writes_it(make_project):
    config = make_project(GOOD.replace("LEVEL = 3 }", "LEVEL = 3, BUILT = 1979-05-27 }"))
    with pytest.raises(ConfigError, match=r"not a date \(got 1979-05-27\)"):
        load_project(config)


def test_no_config_anywhere(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="no deployer.toml"):
        load_project()


def test_repository_config_deploys_the_website():
    project = load_project(Path(__file__).parents[2] / "deployer.toml")
    assert project.app.build.context.name == "website"
    assert (project.app.build.context / project.app.build.dockerfile).is_file()


def test_a_current_folder_that_was_deleted_is_a_usage_error(tmp_path, monkeypatch):
    from deployer.errors import UsageError

    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    with pytest.raises(UsageError, match="the current folder no longer exists: cd to your project, or pass --config"):
        load_project()


def test_an_empty_config_option_says_so(tmp_path, monkeypatch):
    """Before: --config '' said "is a folder, not a file (got \".\")"."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["plan", "--config", ""])
    assert result.exit_code == 2
    assert "'--config' / '-c': is empty: name a config file" in result.output, result.output
