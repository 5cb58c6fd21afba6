"""``[targets.local]`` parsing and the manifest: no Docker needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deployer.errors import ConfigError
from deployer.plugins.local_docker.settings import LocalSettings, parse_settings


def test_defaults_are_loopback_and_safe():
    settings = parse_settings({}, "targets.local")
    assert settings == LocalSettings()
    assert (settings.bind, settings.host_port, settings.read_only) == ("127.0.0.1", 8080, True)


def test_keys_are_read_and_typed():
    settings = parse_settings({"host_port": 9000, "bind": "0.0.0.0", "drain_seconds": 0}, "targets.local")
    assert (settings.host_port, settings.bind, settings.drain_seconds) == (9000, "0.0.0.0", 0)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"hostport": 1}, "targets.local.hostport"),
        ({"host_port": 0}, "targets.local.host_port"),
        ({"host_port": "80"}, "targets.local.host_port"),
        ({"bind": "localhost"}, "targets.local.bind"),
        ({"bind": "224.0.0.1"}, "targets.local.bind"),  # multicast: up failed after 30 s, not reachable
        ({"bind": "255.255.255.255"}, "targets.local.bind"),
        ({"restart": "sometimes"}, "targets.local.restart"),
    ],
)
def test_bad_keys_name_the_key(raw, key):
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, "targets.local")
    assert caught.value.key == key


def test_listing_targets_does_not_import_docker():
    code = (
        "import sys; from deployer.plugin_manager import get_plugin_manager; "
        "assert 'local' in get_plugin_manager().targets; print('docker' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("settings", "host_port"),
    [(None, 8080), ({}, 8080), ({"host_port": 9000}, 9000), (LocalSettings(host_port=9001), 9001)],
    ids=["unset", "empty", "raw", "parsed"],
)
def test_of_gives_a_phase_the_parsed_settings_of_its_context(settings, host_port):
    """The same ``of(ctx)`` as aws-ecs: parsed settings as they are, a raw table (a
    context built in code) parsed, nothing the defaults."""
    from pathlib import Path

    from deployer.models import AppSpec, BuildSpec, PhaseContext, TargetConfig
    from deployer.plugins.local_docker.settings import of

    app = AppSpec(name="demo", build=BuildSpec(context=Path("app")))
    ctx = PhaseContext(app=app, target=TargetConfig("local", settings), stack="dev", project_dir=Path("."))
    assert of(ctx) == LocalSettings(host_port=host_port)
    with pytest.raises(ConfigError, match=r"targets\.local\.host_port"):
        of(PhaseContext(app=app, target=TargetConfig("local", {"host_port": 0}), stack="dev", project_dir=Path(".")))


def test_sizes_docker_would_refuse_after_the_build_are_refused_by_the_config():
    """From the hostile-input run: memory = 4 failed only when the replica was created
    (Docker's minimum is 6 MiB), a 20-digit memory and a cpu of 2**63 overflowed Docker's
    fields; each after the image was built and the network and load balancer created."""
    from deployer.errors import ConfigErrors
    from deployer.models import AppSpec, BuildSpec
    from deployer.plugins.local_docker.sizes import check_app
    from deployer.services import WorkerSpec

    worker = WorkerSpec(name="mailer", command=("true",), replicas=1, cpu=2**63 - 1, memory=512)
    app = AppSpec("web", BuildSpec(Path(".")), memory=4, workers=(worker,))
    with pytest.raises(ConfigErrors) as caught:
        check_app(app)
    assert [e.key for e in caught.value.errors] == ["app.memory", "workers.mailer.cpu"]
    check_app(AppSpec("web", BuildSpec(Path(".")), memory=6, cpu=4096))  # more CPUs than here: a quota


def _app_with_env(env):
    from deployer.models import AppSpec, BuildSpec

    return AppSpec("web", BuildSpec(Path(".")), env=env)


def test_an_environment_linux_would_refuse_at_start_is_refused_by_the_config():
    """From the hostile-input run: a 200 kB ``[app.env]`` value failed only at the
    container's start ("argument list too long"), after the build and the network."""
    from deployer.errors import ConfigErrors
    from deployer.plugins.local_docker.sizes import ENV_VARIABLE_MAX, check_app

    largest = "y" * (ENV_VARIABLE_MAX - len("OK=") - 1)  # the NUL ends it
    check_app(_app_with_env({"OK": largest}))
    with pytest.raises(ConfigErrors) as caught:
        check_app(_app_with_env({"OK": largest + "y"}))
    assert [(e.key, e.message) for e in caught.value.errors] == [
        (
            "app.env.OK",
            "is 131,073 bytes with its name, over the 131,072 Linux allows one environment variable: put large "
            "data in a file in the image or a volume",
        )
    ]
    with pytest.raises(ConfigErrors) as caught:
        check_app(_app_with_env({f"V{n}": "z" * 100_000 for n in range(11)}))
    assert [e.key for e in caught.value.errors] == ["app.env"]
    assert "over the 1,048,576 deployer allows in all" in caught.value.errors[0].message


@pytest.mark.docker
def test_the_environment_limit_is_the_one_linux_applies_in_a_container(docker_client):
    """ENV_VARIABLE_MAX is Linux's, not a guess: the largest value check_app allows starts,
    one byte more does not."""
    import docker

    from deployer.plugins.local_docker.sizes import ENV_VARIABLE_MAX

    largest = ENV_VARIABLE_MAX - len("OK=") - 1
    run = docker_client.containers.run
    run("python:3.12-slim", ["true"], environment={"OK": "y" * largest}, remove=True)
    with pytest.raises(docker.errors.ContainerError, match="argument list too long"):
        run("python:3.12-slim", ["true"], environment={"OK": "y" * (largest + 1)}, remove=True)
