"""up, idempotent re-up, plan, status, logs, down and a taken port, on a real engine."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import requests
from docker.api.client import APIClient
from typer.testing import CliRunner

from deployer import api, cli, docker_labels
from deployer.errors import DeployFailed, UsageError
from deployer.plugins.local_docker import engine, ingress
from tests.conftest import REFUSING_PROXY, name_proxy

pytestmark = pytest.mark.docker

DOCS = Path(__file__).parents[2] / "docs"


def test_up_serves_through_the_load_balancer_with_locked_down_replicas(deployed):
    deployment = deployed.deployments[0]  # what the first up returned
    assert deployment.endpoint == deployed.url("").rstrip("/")
    assert requests.get(deployed.url(), timeout=5).text == "version 1\n"

    objects = deployed.objects()
    prefix = f"deployer-ldtest.{deployed.stack}"
    assert objects["networks"] == [prefix]
    assert objects["volumes"] == [f"{prefix}-history-1", f"{prefix}-lb-config"]
    assert len(objects["containers"]) == 3
    for row in deployed.containers("replica"):
        labels = row["Labels"]
        assert labels[docker_labels.TARGET] == "local" and len(labels[docker_labels.SPEC_HASH]) == 16
        info = deployed.docker.api.inspect_container(row["Id"])
        host = info["HostConfig"]
        assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"]
        assert host["SecurityOpt"] == ["no-new-privileges"]
        assert host["Init"] is True
        pid1 = deployed.docker.api.exec_create(row["Id"], ["cat", "/proc/1/comm"])
        assert deployed.docker.api.exec_start(pid1).decode().strip() == "docker-init", "stop signals reach the app"
        assert host["Memory"] == 512 * 2**20
        assert host["CpuQuota"] * 4 == host["CpuPeriod"], "0.25 CPU, applied once healthy (start-up boost)"
        assert host["CpuShares"] == 1024, "the default weight once healthy (it starts at 8192)"
        assert host["RestartPolicy"]["Name"] == "unless-stopped"
        assert not host["PortBindings"], "replicas are reachable only through the load balancer"
        assert "PORT=8000" in info["Config"]["Env"]
    lb = deployed.docker.api.inspect_container(f"{prefix}-lb")
    assert lb["HostConfig"]["PortBindings"]["8080/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(deployed.port)}]
    assert lb["Config"]["User"] == "haproxy" and lb["HostConfig"]["ReadonlyRootfs"]

    status = api.status(deployed.session())
    assert (status.deployed, status.healthy, status.desired) == (True, 2, 2)
    assert status.endpoint == deployment.endpoint and status.image.startswith("deployer/ldtest:")
    assert status.spec.replicas == 2 and status.spec.port == 8000


def test_second_up_touches_nothing(deployed):
    deployed.up()
    before = {c["Id"]: (c["Created"], c["Status"]) for c in deployed.containers()}
    lb_started = deployed.docker.api.inspect_container(f"deployer-ldtest.{deployed.stack}-lb")["State"]["StartedAt"]
    session = deployed.session()
    sdk_requests = []
    with pytest.MonkeyPatch.context() as patch:  # every docker SDK call ends in Session.send
        patch.setattr(APIClient, "send", lambda self, request, **k: sdk_requests.append(request.url))
        for _ in range(3):
            api.up(session)
    assert sdk_requests == [], "a no-op up only reads (engine socket, HAProxy's stats), never through the SDK"
    after = {c["Id"]: (c["Created"], c["Status"]) for c in deployed.containers()}
    assert after.keys() == before.keys()
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}
    assert (
        deployed.docker.api.inspect_container(f"deployer-ldtest.{deployed.stack}-lb")["State"]["StartedAt"]
        == lb_started
    )
    assert "everything is up to date: nothing changed" in deployed.lines


def test_up_and_verify_ask_the_endpoint_directly_whatever_proxy_the_shell_names(deployed, monkeypatch):
    """An office shell's proxy variables (with no ``no_proxy``) must not send ``up``'s wait
    for the endpoint, nor ``verify``, to a proxy, which cannot reach this machine's loopback."""
    name_proxy(monkeypatch, REFUSING_PROXY, "http_proxy", "HTTP_PROXY", "all_proxy")
    api.up(deployed.session())
    verify = ["verify", "--target", "local", "--stack", deployed.stack, "--config", str(deployed.config)]
    result = CliRunner().invoke(cli.app, verify)
    assert result.exit_code == 0, result.output


def test_routes_are_read_from_the_config_file_when_the_stats_are_unreachable(deployed, monkeypatch):
    deployed.up()
    monkeypatch.setattr(ingress, "stats_port", lambda row: None)
    deployed.lines.clear()

    deployed.up()

    assert "everything is up to date: nothing changed" in deployed.lines


def test_plan_lists_changes_and_touches_nothing(stack):
    fresh = api.plan(stack.session())
    assert {c.action for c in fresh.changes} == {"create"}
    assert stack.objects() == {"containers": [], "networks": [], "volumes": []}

    stack.up()
    before = stack.objects()
    assert {c.action for c in api.plan(stack.session()).changes} == {"unchanged"}

    stack.replicas = 3
    stack.env = {"GREETING": "hi"}
    changed = api.plan(stack.session())
    actions = [(c.action, c.kind) for c in changed.changes]
    assert actions.count(("replace", "container")) == 1, "the old replica is replaced by a new one"
    assert actions.count(("create", "container")) == 2 and ("remove", "container") not in actions, "two more"
    assert ("update", "load-balancer-routes") in actions
    replaced = [c for c in changed.changes if c.action == "replace"]
    assert {c.fields for c in replaced} == {("env names",)}, replaced
    assert changed.spec.replicas == 3 and changed.spec.env_names == ("GREETING",)
    assert stack.objects() == before


def test_down_removes_only_this_stack(stack, docker_client):
    stack.up()
    decoy = docker_client.api.create_container(
        "python:3.12-slim", command=["sleep", "300"], name=f"decoy-{stack.stack}"
    )
    docker_client.api.start(decoy["Id"])
    try:
        api.down(stack.session())
        assert any(line.startswith("stopping (SIGTERM, SIGKILL after 10 s) and removing") for line in stack.lines)
        assert stack.objects() == {"containers": [], "networks": [], "volumes": []}
        assert docker_client.api.inspect_container(decoy["Id"])["State"]["Running"]
        api.down(stack.session())  # idempotent
        assert not api.status(stack.session()).deployed
    finally:
        docker_client.api.remove_container(decoy["Id"], force=True)


def test_taken_port_is_a_clear_error_before_any_change(stack):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", stack.port))
        squatter.listen()
        with pytest.raises(UsageError) as caught:
            stack.up()
    assert str(caught.value).startswith(f"{stack.config}: targets.local.host_port: port {stack.port} on 127.0.0.1")
    assert "is already in use" in str(caught.value)
    assert stack.objects() == {"containers": [], "networks": [], "volumes": []}


def test_commands_that_only_read_or_remove_do_not_refuse_a_taken_port(stack):
    """Only ``up`` and ``plan`` create the stack's objects: the other commands work on what
    is labelled with it, whoever holds ``host_port`` (here: a server that took the port
    the config now names, while the stack still serves on its old one)."""
    stack.up()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        stack.port = squatter.getsockname()[1]
        options = ["--target", "local", "--stack", stack.stack, "--config", str(stack.config)]
        for command in (["status"], ["releases"], ["logs"], ["verify"], ["exec", *options, "--", "true"], ["down"]):
            result = CliRunner().invoke(cli.app, [*command, *([] if "--" in command else options)])
            assert "already in use" not in result.stderr, (command, result.stderr)
            assert result.exit_code == 0, (command, result.stdout, result.stderr)
    assert stack.objects() == {"containers": [], "networks": [], "volumes": []}


def test_logs_are_merged_and_prefixed_by_replica(deployed):
    deployed.up()
    for _ in range(6):
        requests.get(deployed.url("/hello"), timeout=5)
    lines = list(api.logs(deployed.session(), since="5m"))
    sources = {line.source for line in lines}
    assert len(sources) == 2 and all(s.endswith(("-1", "-2")) for s in sources)
    assert sum("GET /hello 200" in line.text for line in lines) == 6
    assert [line.timestamp for line in lines] == sorted(line.timestamp for line in lines)
    with pytest.raises(UsageError):
        list(api.logs(deployed.session(), since="yesterday"))


def test_commands_on_a_stack_with_no_container_say_what_to_run_for_that_stack(stack):
    """The hint is a command to paste: it names the stack (``--stack`` was left out, so
    it deployed ``dev`` instead)."""
    up = f"run `deployer up --target local --stack {stack.stack}` first"
    with pytest.raises(UsageError, match=r"no container of app 'ldtest' on stack .*") as caught:
        api.logs(stack.session())
    assert up in str(caught.value)
    for command in (api.deployed_url, api.rollback, lambda session: api.exec_in_replica(session, ["true"])):
        with pytest.raises(UsageError) as caught:
            command(stack.session())
        assert up in str(caught.value), caught.value


def test_down_with_a_foreign_container_on_the_network_is_a_clear_error(stack, docker_client):
    stack.up()
    network = f"deployer-ldtest.{stack.stack}"
    guest = docker_client.api.create_container(
        "python:3.12-slim",
        command=["sleep", "300"],
        name=f"guest-{stack.stack}",
        host_config=docker_client.api.create_host_config(network_mode=network),
    )
    docker_client.api.start(guest["Id"])
    try:
        with pytest.raises(DeployFailed) as caught:
            api.down(stack.session())
        assert f"network {network}" in str(caught.value) and "run down again" in str(caught.value)
        left = stack.objects()
        assert left["containers"] == [] and left["volumes"] == [], "everything else is removed"
    finally:
        docker_client.api.remove_container(guest["Id"], force=True)
    api.down(stack.session())
    assert stack.objects() == {"containers": [], "networks": [], "volumes": []}


def test_plan_and_up_refuse_a_taken_port_with_the_same_message_before_building(stack):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", stack.port))
        squatter.listen()
        messages = []
        for command in (["plan"], ["plan", "--offline"], ["up"]):
            result = CliRunner().invoke(
                cli.app, [*command, "--target", "local", "--stack", stack.stack, "--config", str(stack.config)]
            )
            assert result.exit_code == 2, (command, result.stdout, result.stderr)
            messages.append(result.stderr)
        with pytest.raises(UsageError):
            stack.up()
    assert len(set(messages)) == 1 and f"port {stack.port} on 127.0.0.1 is already in use" in messages[0]
    assert not any(line.startswith("[build") for line in stack.lines), "refused before the image build"
    assert stack.objects() == {"containers": [], "networks": [], "volumes": []}


def test_replicas_and_the_load_balancer_have_pids_cpu_and_memory_limits(deployed):
    """As docs/targets/local.md, "Limits", says `docker inspect` shows them: a replica's CPU
    limit as CpuQuota/CpuPeriod (NanoCpus 0), the load balancer's as NanoCpus."""
    deployed.up()
    doc = " ".join((DOCS / "targets" / "local.md").read_text().split("\n## Limits\n", 1)[1].split("\n## ")[0].split())
    for row in deployed.containers("replica"):
        host = deployed.docker.api.inspect_container(row["Id"])["HostConfig"]
        assert host["PidsLimit"] == engine.PIDS_LIMIT
        assert host["NanoCpus"] == 0 and "`.NanoCpus` is 0" in doc
        assert f"`.CpuQuota`/`.CpuPeriod` ({host['CpuQuota']}/{host['CpuPeriod']} for `cpu = 256`" in doc
    lb = deployed.docker.api.inspect_container(f"deployer-ldtest.{deployed.stack}-lb")["HostConfig"]
    assert (lb["PidsLimit"], lb["NanoCpus"], lb["Memory"]) == (128, 500_000_000, 256 * 2**20)
    assert f"the load balancer's as `.NanoCpus` ({lb['NanoCpus']} for" in doc
    assert (ingress.LB_PIDS_LIMIT, ingress.LB_CPUS, ingress.LB_MEMORY_MIB) == (128, 0.5, 256)
    assert engine.PIDS_LIMIT == 512


def test_a_killed_replica_makes_status_degraded_until_up_restarts_it(stack):
    stack.replicas = 2  # one killed, the other serving
    stack.up()
    stack.docker.api.kill(stack.containers("replica")[0]["Id"])  # by hand: Docker does not restart it
    args = ["status", "--target", "local", "--stack", stack.stack, "--config", str(stack.config)]
    shown = CliRunner().invoke(cli.app, args)
    assert shown.exit_code == 1, shown.stdout
    assert "DEGRADED: 1/2 healthy" in shown.stdout
    assert f"run `deployer up --target local --stack {stack.stack}` to start the missing ones" in shown.stdout
    document = CliRunner().invoke(cli.app, [*args, "--json"])
    assert document.exit_code == 1
    status = json.loads(document.stdout)
    assert (status["degraded"], status["healthy"], status["desired"]) == (True, 1, 2)
    assert "deployer up" in status["advice"]

    stack.up()
    healthy = CliRunner().invoke(cli.app, args)
    assert healthy.exit_code == 0 and "2/2 healthy" in healthy.stdout and "DEGRADED" not in healthy.stdout
    assert json.loads(CliRunner().invoke(cli.app, [*args, "--json"]).stdout)["degraded"] is False


def test_an_image_that_declares_a_volume_leaves_no_anonymous_volume_behind(stack, tmp_path, monkeypatch):
    """Docker gives every container of an image with ``VOLUME`` an anonymous volume; the
    image lookups' containers, the release command's and ``run``'s one-off containers, the
    replicas and ``down`` remove theirs with them (a foreign image declaring ``VOLUME
    /data`` leaked one per run)."""
    stack.use_image_with("VOLUME /data", tmp_path / "volume-app")
    stack.app_keys = {"release_command": ["true"]}
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the image's health-check tool is looked up
    given: dict[str, str] = {}  # anonymous volume -> the container Docker made it for
    create = APIClient.create_container

    def create_and_note_volumes(client, image, *args, **kwargs):
        created = create(client, image, *args, **kwargs)
        for mount in client.inspect_container(created["Id"])["Mounts"]:
            if mount["Type"] == "volume" and mount["Destination"] == "/data":
                given[mount["Name"]] = kwargs.get("name") or created["Id"]
        return created

    monkeypatch.setattr(APIClient, "create_container", create_and_note_volumes)
    stack.up()
    assert api.run_once(stack.session(), ["true"]) == 0
    api.down(stack.session())
    assert len(given) == 4, given  # the health-check tool's lookup, the replica, the release command, run
    left = {
        name: made_for
        for name, made_for in given.items()
        if stack.docker.api.volumes(filters={"name": name})["Volumes"]
    }
    assert left == {}


def test_the_release_command_is_shown_as_a_shell_would_read_it(stack, monkeypatch):
    """Its arguments quoted (``shlex.join``) in the plan, the report and the failure, so an
    argument with spaces reads as one. A secret it prints is hidden in both."""
    stack.app_keys = {
        "release_command": ["sh", "-c", "echo token $API_TOKEN; exit 3"],
        "secrets": ["API_TOKEN"],
    }
    monkeypatch.setenv("API_TOKEN", "hunter2-s3cr3t")
    shown = "sh -c 'echo token $API_TOKEN; exit 3'"
    planned = api.plan(stack.session())
    assert [c.detail for c in planned.changes if c.kind == "one-off"] == [shown]
    with pytest.raises(DeployFailed) as failed:
        stack.up()
    assert f"release command: {shown}" in stack.lines
    assert f"the release command ({shown}) exited with 3:\n  | token ***\n" in str(failed.value)
    assert "  release | token ***" in stack.lines and "hunter2" not in str(failed.value) + "".join(stack.lines)


def test_an_images_own_healthcheck_is_replaced_by_the_apps(stack, tmp_path):
    """docs/configuration.md: the ``[app.health]`` check replaces a ``HEALTHCHECK`` the
    image declares, as ECS does with a container definition's health check."""
    stack.use_image_with("HEALTHCHECK --interval=1s --retries=1 CMD exit 1", tmp_path / "own-check-app")
    stack.up()
    assert requests.get(stack.url(), timeout=5).text == "version 1\n"
    for row in stack.containers("replica"):
        check = stack.docker.api.inspect_container(row["Id"])["Config"]["Healthcheck"]
        assert check["Test"][0] == "CMD-SHELL" and "/healthz" in check["Test"][1], check
