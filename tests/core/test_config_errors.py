"""Bad input, through the real CLI: one run names every mistake (exit 2), before anything
is built or created, and no traceback.

"Nothing created" is checked twice: no Docker engine is even connected to (so no image,
network or container can appear) and no ``.deployer`` folder appears in the project.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deployer.cli import app
from deployer.config import load_project, target_config
from deployer.config_section import Section
from deployer.errors import ConfigError, ConfigErrors
from deployer.plugin_manager import get_plugin_manager

BASE = """
[app]
name = "demo"
{app}
[app.build]
context = "app"
{build}
[app.health]
{health}
{rest}
"""


def config_text(*, app: str = "", build: str = "", health: str = "", rest: str = "") -> str:
    return BASE.format(app=app, build=build, health=health, rest=textwrap.dedent(rest))


@pytest.fixture
def deployer_cli(tmp_path: Path, monkeypatch):
    """``deployer_cli(*args, env=...)``: run the CLI in-process; afterwards check that no
    Docker engine was connected to and no ``.deployer`` folder was made."""
    from deployer import docker_engine

    engines: list[str] = []
    real_init = docker_engine.DockerEngine.__init__

    def recording_init(self, *args, **kwargs):
        engines.append(repr(args))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(docker_engine.DockerEngine, "__init__", recording_init)

    def run(*args: str, env: dict[str, str] | None = None):
        result = CliRunner().invoke(app, list(args), env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output
        assert engines == [], "the Docker engine was contacted: something could have been created"
        assert not (tmp_path / ".deployer").exists(), "a .deployer folder was created"
        return result

    return run


# --- every error at once --------------------------------------------------------------


THREE_MISTAKES = config_text(
    app="port = 70000",
    health="interval = 10\ntimeout = 30",
    rest="""
    [[checks]]
    path = "/"
    status = 700
    """,
)


def test_three_mistakes_in_three_tables_are_named_in_one_run(make_project, deployer_cli):
    config = make_project(THREE_MISTAKES)
    result = deployer_cli("plan", "--target", "local", "--config", str(config))
    assert result.exit_code == 2, result.output
    assert f"{config}: 3 errors:" in result.output
    for key, allowed in [
        ("app.port", "between 1 and 65535 (got 70000)"),
        ("app.health.timeout", "shorter than app.health.interval"),
        ("checks[0].status", "between 100 and 599 (got 700)"),
    ]:
        assert f"  {key}: must be {allowed}" in result.output, result.output


def test_json_output_lists_them_too(make_project, deployer_cli):
    config = make_project(THREE_MISTAKES)
    result = deployer_cli("plan", "--json", "--config", str(config))
    assert result.exit_code == 2
    assert result.output.count("app.port") and result.output.count("checks[0].status")


@pytest.mark.parametrize(
    ("typo", "meant"), [("prot = 8000", "'port'"), ("replcias = 2", "'replicas'"), ("colour = 1", None)]
)
def test_an_unknown_key_is_answered_with_the_key_it_was_probably_meant_to_be(make_project, typo, meant):
    with pytest.raises(ConfigError) as caught:
        load_project(make_project(config_text(app=typo)))
    message = caught.value.message
    assert message.startswith("is not a known key; ") and "allowed here: " in message
    assert (f"did you mean {meant}?" in message) if meant else ("did you mean" not in message), message


def test_every_mistake_of_a_target_section_is_named_in_one_run(make_project, deployer_cli):
    config = make_project(
        config_text(
            rest="""
            [targets.local]
            host_port = 0
            bind = "localhost"
            restart = "sometimes"
            hostport = 1
            """
        )
    )
    result = deployer_cli("plan", "--target", "local", "--config", str(config))
    assert result.exit_code == 2, result.output
    assert f"{config}: 4 errors:" in result.output
    for key in ("host_port", "bind", "restart", "hostport"):
        assert f"  targets.local.{key}: " in result.output


@pytest.mark.parametrize("command", [("plan", "--target", "local"), ("status",), ("down",)])
def test_a_misspelt_target_table_is_refused_with_the_name_it_was_meant_to_be(make_project, deployer_cli, command):
    """A misspelt ``[targets.<name>]`` would drop its settings silently (``host_port``: the
    stack would take the default port): every command that reads the config refuses it,
    with the app's own mistakes, naming the target meant."""
    config = make_project(
        config_text(
            app="prot = 8000",
            rest="""
            [targets.locall]
            host_port = 18999
            [targets.aws_ecs]
            region = "eu-west-1"
            """,
        )
    )
    result = deployer_cli(*command, "--config", str(config))
    assert result.exit_code == 2, result.output
    assert f"{config}: 3 errors:" in result.output
    assert "  app.prot: is not a known key" in result.output
    for key, meant in [("locall", "local"), ("aws_ecs", "aws-ecs")]:
        line = next(line for line in result.output.splitlines() if line.startswith(f"  targets.{key}: "))
        assert f"names no installed target; did you mean [targets.{meant}]? known: aws-ecs" in line, line


def test_a_table_of_a_target_not_installed_here_is_named_in_a_warning(make_project):
    """``[targets.kubernetes]`` of a plugin a teammate has and this machine has not: not a
    typo of an installed target, so every command still runs, saying nothing uses it."""
    config = make_project(config_text(app="allow_root = true", rest='[targets.kubernetes]\nnamespace = "web"\n'))
    result = CliRunner().invoke(app, ["plan", "--target", "aws-ecs", "--offline", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "warning: [targets.kubernetes] names no installed target, so nothing uses it" in result.stderr


def test_a_table_of_a_blocked_plugins_target_is_left_alone(make_project):
    """With its plugin blocked (``DEPLOYER_DISABLE_PLUGINS``), a target's table names a
    target this run does not load, on purpose: not a typo."""
    from deployer import api

    config = make_project(config_text(rest='[targets.aws-ecs]\nregion = "eu-west-1"\n'))
    pm = get_plugin_manager(environ={"DEPLOYER_DISABLE_PLUGINS": "aws-ecs"})
    assert "aws-ecs" not in pm.targets
    assert api.open_session(config=config, pm=pm).project.targets["aws-ecs"] == {"region": "eu-west-1"}


def test_app_and_target_table_mistakes_are_named_in_one_run(make_project, deployer_cli):
    """A target table's errors come with the app's, not on the run after they are fixed;
    the selected target's table and every other configured one's."""
    config = make_project(
        config_text(
            app="port = -8000",
            rest="""
            [targets.local]
            restart = "sometimes"

            [targets.aws-ecs]
            regoin = "eu-west-1"
            """,
        )
    )
    result = deployer_cli("plan", "--target", "local", "--config", str(config))
    assert result.exit_code == 2, result.output
    assert f"{config}: 3 errors:" in result.output, result.output
    for key in ("app.port", "targets.local.restart", "targets.aws-ecs.regoin"):
        assert f"  {key}: " in result.output, result.output


def test_aws_ecs_section_errors_are_collected_too():
    from deployer.plugins.aws_ecs.settings import parse_settings

    with pytest.raises(ConfigErrors) as caught:
        parse_settings({"vpc_cidr": "nope", "log_retention_days": 31, "nat_per_az": True, "regoin": "x"}, "t")
    assert [e.key for e in caught.value.errors] == ["t.vpc_cidr", "t.log_retention_days", "t.nat_per_az", "t.regoin"]


def test_one_error_reads_exactly_as_before(make_project):
    config = make_project(config_text(app="port = 70000"))
    with pytest.raises(ConfigError) as caught:
        load_project(config)
    assert str(caught.value) == f"{config}: app.port: must be between 1 and 65535 (got 70000)"
    assert caught.value.key == "app.port" and caught.value.exit_code == 2


def test_a_target_refusing_the_app_is_named_with_the_secret_errors(make_project, deployer_cli):
    config = make_project(config_text(app='cpu = 300\nsecrets = ["API_TOKEN"]'))
    result = deployer_cli("plan", "--target", "aws-ecs", "--offline", "--config", str(config), env={"API_TOKEN": ""})
    refused(result, "app.cpu", "app.secrets[0]", f"{config}: 2 errors:")


@pytest.mark.parametrize(
    ("config", "named", "not_named"),
    [
        # a cross-field check runs only when its inputs were read without error
        ('replicas = { min = "two", max = 1 }', "app.replicas.min", "app.replicas.max"),
    ],
)
def test_checks_across_keys_skip_inputs_that_failed(make_project, config, named, not_named):
    with pytest.raises(ConfigError) as caught:
        load_project(make_project(config_text(app=config)))
    assert [e.key for e in caught.value.errors] == [named], str(caught.value)
    assert not_named not in str(caught.value)


def test_health_interval_that_failed_is_not_compared(make_project):
    with pytest.raises(ConfigError) as caught:
        load_project(make_project(config_text(health='interval = "10"\ntimeout = 30')))
    assert [e.key for e in caught.value.errors] == ["app.health.interval"]


def test_a_plugin_raising_one_config_error_still_works(make_project):
    def parse_settings(raw, key):
        raise ConfigError(f"{key}.zone", "must be a zone", value=raw.get("zone"))

    info = get_plugin_manager().target("local")
    project = load_project(make_project(config_text(rest='[targets.local]\nzone = "x"\n')))
    from attrs import evolve

    with pytest.raises(ConfigError) as caught:
        target_config(project, evolve(info, parse_settings=parse_settings))
    assert str(caught.value) == f'{project.config_file}: targets.local.zone: must be a zone (got "x")'


def test_section_collect_records_a_raised_error_and_done_raises_all():
    s = Section({"a": "x", "b": 2, "c": 3}, "t")
    s.integer("a")
    s.integer("b")
    with s.collect():
        raise ConfigError("t.b", "is wrong")
    assert not s.parsed("a") and not s.parsed("b") and s.parsed("c")
    with pytest.raises(ConfigErrors) as caught:
        s.done()
    assert [e.key for e in caught.value.errors] == ["t.a", "t.b", "t.c"]
    assert str(caught.value).splitlines()[0] == "3 config errors:"


# --- hostile input ----------------------------------------------------------------------


def refused(result, key: str, *fragments: str) -> str:
    """The CLI exited 2 naming ``key`` (and each fragment); returns its output."""
    assert result.exit_code == 2, result.output
    assert f"{key}: " in result.output, result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
    return result.output


SECRET_CONTENT = "root:x:0:0:do-not-echo-me"


@pytest.fixture
def outside_file(tmp_path: Path) -> Path:
    """A file next to the project, outside its build context, whose content must never
    appear in any output."""
    path = tmp_path.parent / f"{tmp_path.name}-outside" / "Dockerfile"
    path.parent.mkdir()
    path.write_text(f"FROM scratch\n# {SECRET_CONTENT}\n")
    return path


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink", "system file"])
def test_a_dockerfile_outside_the_build_context_is_refused(make_project, deployer_cli, outside_file, tmp_path, how):
    config = make_project(BASE)  # makes app/ (the context)
    dockerfile = {
        "absolute": str(outside_file),
        "dotdot": f"../../{outside_file.parent.name}/Dockerfile",
        "symlink": "Linked.dockerfile",
        "system file": "/etc/passwd",
    }[how]
    if how == "symlink":
        (tmp_path / "app" / "Linked.dockerfile").symlink_to(outside_file)
    config.write_text(config_text(build=f"dockerfile = {dockerfile!r}"))
    for command in (["plan", "--target", "local"], ["up", "--target", "local"]):
        output = refused(
            deployer_cli(*command, "--config", str(config)),
            "app.build.dockerfile",
            f"must be a file inside {tmp_path / 'app'}",
        )
        assert SECRET_CONTENT not in output and "root:x:0:0" not in output


@pytest.mark.parametrize(
    ("dockerfile", "problem"),
    [
        ("Dockerfil", "does not exist in {context}; did you mean 'Dockerfile'?"),
        ("docker/Dockerfile.prod", "does not exist in {context}"),
        ("docker", "must be a file, not a folder or a special file (in {context})"),
    ],
)
def test_a_dockerfile_that_is_not_there_is_named_as_missing(make_project, deployer_cli, tmp_path, dockerfile, problem):
    config = make_project(config_text(build=f"dockerfile = {dockerfile!r}"))
    (tmp_path / "app" / "docker").mkdir()
    result = deployer_cli("plan", "--target", "local", "--config", str(config))
    assert result.exit_code == 2, result.output
    message = problem.format(context=tmp_path / "app")
    assert result.output.splitlines() == [f'error: {config}: app.build.dockerfile: {message} (got "{dockerfile}")']


def test_a_missing_dockerfile_outside_the_context_is_refused_as_outside(make_project, deployer_cli, tmp_path):
    """Whether a path outside the context exists is not told."""
    config = make_project(config_text(build='dockerfile = "../Dockerfil"'))
    refused(deployer_cli("plan", "--config", str(config)), "app.build.dockerfile", "must be a file inside")


def test_a_symlink_to_a_dockerfile_inside_the_context_is_fine(make_project, tmp_path):
    config = make_project(config_text(build='dockerfile = "Linked.dockerfile"'))
    (tmp_path / "app" / "Linked.dockerfile").symlink_to(tmp_path / "app" / "Dockerfile")
    assert load_project(config).app.build.dockerfile == "Linked.dockerfile"


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('[app.env]\nGREETING = "hello\\u0000world"', "app.env.GREETING"),
        ('[app.build.args]\nVERSION = "1\\u0000"', "app.build.args.VERSION"),
    ],
)
def test_a_nul_character_in_env_or_build_args_is_refused(make_project, deployer_cli, table, key):
    config = make_project(config_text(rest=table))
    refused(deployer_cli("up", "--target", "local", "--config", str(config)), key, "NUL")


def test_a_nul_character_in_the_command_is_refused(make_project, deployer_cli):
    config = make_project(config_text(app='command = ["serve", "--flag\\u0000"]'))
    refused(deployer_cli("plan", "--target", "local", "--config", str(config)), "app.command", "NUL")


def test_other_control_characters_in_env_values_are_kept(make_project):
    config = make_project(config_text(rest='[app.env]\nPEM = "line one\\nline two\\tend"'))
    assert load_project(config).app.env["PEM"] == "line one\nline two\tend"


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/healthz#top", "without spaces or #"),
        ("/health z", "without spaces or #"),
        ("/health\\tz", "without spaces or #"),
        ("/" + "a" * 1024, "at most 1024 characters"),
    ],
)
def test_a_health_path_the_load_balancer_cannot_use_is_refused(make_project, deployer_cli, path, fragment):
    config = make_project(config_text(health=f'path = "{path}"'))
    refused(deployer_cli("plan", "--target", "local", "--config", str(config)), "app.health.path", fragment)


def test_a_health_path_of_1024_characters_is_accepted(make_project):
    path = "/" + "a" * 1023
    assert load_project(make_project(config_text(health=f'path = "{path}"'))).app.health.path == path


def test_secret_names_must_differ_in_more_than_case(make_project, deployer_cli):
    config = make_project(config_text(app='secrets = ["DB_PASSWORD", "db_password"]'))
    refused(
        deployer_cli(
            "plan", "--target", "local", "--config", str(config), env={"DB_PASSWORD": "a", "db_password": "b"}
        ),
        "app.secrets[1]",
        "ignoring case",
    )


def test_an_empty_secret_is_refused_naming_the_variable(make_project, deployer_cli):
    config = make_project(config_text(app='secrets = ["API_TOKEN", "OTHER"]'))
    output = refused(
        deployer_cli("up", "--target", "local", "--config", str(config), env={"API_TOKEN": "", "OTHER": "set"}),
        "app.secrets[0]",
        "API_TOKEN",
        "is empty",
        "app.allow_empty_secrets",
    )
    assert "app.secrets[1]" not in output


def test_an_empty_secret_is_accepted_when_allowed(make_project):
    from deployer.config import resolve_secrets

    config = make_project(config_text(app='secrets = ["API_TOKEN"]\nallow_empty_secrets = true'))
    assert resolve_secrets(load_project(config), {"API_TOKEN": ""}) == {"API_TOKEN": ""}


def test_missing_and_empty_secrets_are_reported_together(make_project):
    from deployer.config import resolve_secrets

    project = load_project(make_project(config_text(app='secrets = ["A", "B", "C"]')))
    with pytest.raises(ConfigErrors) as caught:
        resolve_secrets(project, {"B": "", "C": "x"})
    assert [e.key for e in caught.value.errors] == ["app.secrets[0]", "app.secrets[1]"]


def test_a_bind_address_with_a_zone_is_refused(make_project, deployer_cli):
    config = make_project(config_text(rest='[targets.local]\nbind = "fe80::1%eth0"'))
    refused(deployer_cli("up", "--target", "local", "--config", str(config)), "targets.local.bind", "without a zone")


@pytest.mark.parametrize("image", ["python:3.12-slim\nRUN touch /pwned", "", "Python:3.12", "python:3.12 AS x"])
def test_a_load_balancer_base_image_that_is_not_an_image_reference_is_refused(make_project, deployer_cli, image):
    config = make_project(config_text(rest=f"[targets.local]\nlb_base_image = {_toml_string(image)}"))
    refused(
        deployer_cli("up", "--target", "local", "--config", str(config)),
        "targets.local.lb_base_image",
        "Docker image reference",
    )


def _toml_string(text: str) -> str:
    import json

    return json.dumps(text)  # a JSON string is a valid TOML basic string


@pytest.mark.parametrize(
    "image",
    [
        "python:3.12-slim",
        "debian",
        "library/debian:bookworm",
        "docker.io/library/python:3.12-slim",
        "localhost:5000/team/lb_base:v1.2",
        "registry.example.com:443/a__b/c--d.e:latest",
        "[::1]:5000/x/y:z",
        "python@sha256:" + "a" * 64,
        "python:3.12-slim@sha256:" + "0123456789abcdef" * 4,
    ],
)
def test_valid_image_references_are_accepted(image):
    from deployer.plugins.local_docker.settings import parse_settings

    assert parse_settings({"lb_base_image": image}, "targets.local").lb_base_image == image


@pytest.mark.parametrize(
    "image",
    [
        "upper/Case",  # (an upper-case first component names a registry host: valid)
        "a/-b",
        "a//b",
        "name:",
        "name:-tag",
        "name:" + "t" * 129,
        "name@sha256:abc",
        "a" * 256,
        "python:3.12\n",
        "python:3.12\x00",
        "pyth\u00f6n",
    ],
)
def test_invalid_image_references_are_refused(image):
    from deployer.plugins.local_docker.settings import parse_settings

    with pytest.raises(ConfigError) as caught:
        parse_settings({"lb_base_image": image}, "targets.local")
    assert caught.value.key == "targets.local.lb_base_image"


def test_secret_and_target_section_errors_are_named_in_one_run(make_project, deployer_cli):
    config = make_project(config_text(app='secrets = ["API_TOKEN"]', rest='[targets.local]\nbind = "fe80::1%eth0"'))
    result = deployer_cli("up", "--target", "local", "--config", str(config), env={"API_TOKEN": ""})
    refused(result, "app.secrets[0]", f"{config}: 2 errors:", "targets.local.bind: must be a plain IP address")


def test_every_configured_target_is_checked_before_raising(make_project, deployer_cli):
    config = make_project(
        config_text(app="cpu = 300", rest="[targets.local]\nhost_port = 0\n[targets.aws-ecs]\naz_count = 1\n")
    )
    output = refused(
        deployer_cli("plan", "--target", "local", "--config", str(config)),
        "targets.local.host_port",
        "targets.aws-ecs.az_count",
        "app.cpu: on aws-ecs (checked because [targets.aws-ecs] is in the config), must be one of 256,",
        f"{config}: 3 errors:",  # the tables' mistakes and aws-ecs's refusal on the rest of its table
    )
    assert output.index("targets.local.host_port") < output.index("targets.aws-ecs.az_count")


# --- values written with a unit ---------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "key", "message"),
    [
        (
            {"app": 'memory = "512MB"'},
            "app.memory",
            'must be an integer number of MiB, e.g. 512, not a string (got "512MB")',
        ),
        (
            {"app": "cpu = 0.25"},
            "app.cpu",
            "must be an integer number of CPU units (1024 per vCPU), e.g. 256, not a decimal number (got 0.25)",
        ),
        (
            {"health": 'interval = "10s"'},
            "app.health.interval",
            'must be an integer number of seconds, e.g. 10, not a string (got "10s")',
        ),
        (
            {"health": 'timeout = "5s"'},
            "app.health.timeout",
            'must be an integer number of seconds, e.g. 5, not a string (got "5s")',
        ),
        (
            {"health": "start_period = 1.5"},
            "app.health.start_period",
            "must be an integer number of seconds, e.g. 10, not a decimal number (got 1.5)",
        ),
        (
            {"rest": '[workers.mailer]\ncommand = ["mail"]\nmemory = "1GB"'},
            "workers.mailer.memory",
            'must be an integer number of MiB, e.g. 512, not a string (got "1GB")',
        ),
        (
            {"health": "interval = 1"},
            "app.health.interval",
            "must be between 5 and 300 seconds (got 1)",
        ),
    ],
)
def test_a_value_written_with_a_unit_gets_one_line_naming_the_unit_and_an_example(
    make_project, deployer_cli, written, key, message
):
    config = make_project(config_text(**written))
    result = deployer_cli("plan", "--target", "local", "--config", str(config))
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [f"error: {config}: {key}: {message}"]


@pytest.mark.parametrize(
    ("target", "key"),
    [
        ("local", "health_interval"),
        ("local", "health_timeout"),
        ("local", "drain_seconds"),
        ("local", "lock_timeout"),
        ("aws-ecs", "deregistration_delay"),
        ("aws-ecs", "health_check_grace_period"),
        ("aws-ecs", "deploy_timeout"),
    ],
)
def test_every_seconds_key_of_the_built_in_targets_names_its_unit(target, key):
    from deployer.plugins.aws_ecs.settings import parse_settings as aws_settings
    from deployer.plugins.local_docker.settings import parse_settings as local_settings

    parse = {"local": local_settings, "aws-ecs": aws_settings}[target]
    with pytest.raises(ConfigError) as caught:
        parse({key: "30s"}, f"targets.{target}")
    assert f"targets.{target}.{key}: must be an integer number of seconds, e.g. " in str(caught.value)


def test_a_long_bad_value_is_shown_cut_with_its_length():
    """From the hostile-input run: a 200 kB value was echoed in full in its error."""
    from deployer.errors import ConfigError

    shown = str(ConfigError("app.env.BIG", "is too long", value="x" * 200_000))
    assert len(shown) < 300 and shown.endswith("... (200,002 characters))"), shown[-60:]


@pytest.mark.parametrize(
    ("app", "key", "message"),
    [
        ('command = ["", ""]', "app.command", "must start with the program to run, not an empty string"),
        ('release_command = [" "]', "app.release_command", "must start with the program to run"),
        ('secrets = ["PORT"]', "app.secrets", "names PORT, which deployer sets to the app's port"),
    ],
)
def test_an_empty_program_and_a_port_secret_are_named_as_written(make_project, app, key, message):
    """From the hostile-input run: command = ["", ""] passed, and secrets = ["PORT"] was
    reported as app.env.PORT."""
    with pytest.raises(ConfigError) as caught:
        load_project(make_project(config_text(app=app)))
    assert (caught.value.key, message in caught.value.message) == (key, True), str(caught.value)


def test_a_pyproject_without_a_deployer_table_says_so(make_project, deployer_cli, tmp_path):
    """``--config pyproject.toml`` with no ``[tool.deployer]``: one error naming the table,
    not every key it lacks (nor a Dockerfile suggestion of ``Makefile``)."""
    config = make_project('[project]\nname = "x"\n', name="pyproject.toml")
    (tmp_path / "Makefile").write_text("all:\n")
    result = deployer_cli("plan", "--target", "local", "--config", str(config))
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        f"error: {config}: tool.deployer: is missing: add a [tool.deployer] table (docs/configuration.md), "
        "or pass a deployer.toml"
    ]


def test_a_missing_dockerfile_is_not_said_to_be_a_makefile(make_project, deployer_cli, tmp_path):
    config = make_project(config_text())
    (tmp_path / "app" / "Makefile").write_text("all:\n")
    (tmp_path / "app" / "Dockerfile").unlink()
    result = deployer_cli("plan", "--target", "local", "--config", str(config))
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        f'error: {config}: app.build.dockerfile: does not exist in {tmp_path / "app"} (got "Dockerfile")'
    ]
