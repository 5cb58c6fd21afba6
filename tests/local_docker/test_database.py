"""A real app with a Postgres database, a worker and a release command, deployed locally:
the web writes rows, the worker processes them, the release command creates the schema.
Rows survive a rollout, a failed release and `down` then `up`; `run` reads them; the
database's password never appears in labels, plans, status or deployer's output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from deployer import api
from deployer.plugins.local_docker import database
from deployer.testing.project import toml_value

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DBAPP = Path(__file__).parent / "dbapp"
DEPLOYER = str(Path(sys.executable).parent / "deployer")
APP = "ldtest"  # the stack fixture lists and removes what carries this name


def write(stack: Any, *, version: str, env: dict[str, str] | None = None) -> Path:
    app = {
        "name": APP,
        "port": 8000,
        "replicas": 2,
        "cpu": 512,
        "memory": 1024,
        "env": env or {},
        "release_command": "python3 /srv/migrate.py",
        "build": {"context": str(DBAPP), "args": {"VERSION": version}},
        "health": {
            "interval": 5,
            "timeout": 2,
            "retries": 3,
            "start_period": 30,
        },  # psycopg loads slowly on a busy 2-core machine
    }
    target = {"host_port": stack.port, "health_interval": 2, "drain_seconds": 1}
    lines = ["[app]", *(f"{k} = {toml_value(v)}" for k, v in app.items())]
    lines += ["", "[workers.mailer]", 'command = ["python3", "/srv/worker.py"]', "replicas = 1"]
    lines += ["", "[database]", 'engine = "postgres"', 'version = "15"', "storage_gb = 20"]
    lines += ["", "[targets.local]", *(f"{k} = {toml_value(v)}" for k, v in target.items())]
    config = stack.folder / "deployer.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def cli(stack: Any, config: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    command, *rest = args
    where = ["--target", "local", "--stack", stack.stack, "--config", str(config)]
    return subprocess.run(
        [DEPLOYER, command, *where, *rest],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def http(method: str, url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def jobs(stack: Any) -> list[dict[str, Any]]:
    status, body = http("GET", stack.url("/jobs"))
    assert status == 200, body
    return json.loads(body)


def wait_processed(stack: Any, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        rows = jobs(stack)
        if len(rows) == count and all(r["processed_by"] for r in rows):
            return rows
        assert time.monotonic() < deadline, f"the worker did not process the rows: {rows}"
        time.sleep(0.5)


def test_rows_survive_rollout_failed_release_a_removed_network_and_down_then_up(stack, docker_client):
    stack_objects = {"app": APP, "stack": stack.stack}
    config = write(stack, version="1")
    try:
        first = cli(stack, config, "up")
        assert first.returncode == 0, first.stderr
        assert "schema ready (version 1)" in first.stdout + first.stderr
        assert "ready: postgres (PostgreSQL) 15." in first.stdout + first.stderr  # the version it runs
        db_container = docker_client.api.inspect_container(f"deployer-{APP}.{stack.stack}-db")
        assert db_container["Config"]["User"] == "postgres"
        assert not db_container["HostConfig"]["PortBindings"], "the database is not published on the host"

        for text in ("a", "b", "c"):
            assert http("POST", stack.url(f"/jobs?text={text}"))[0] == 201
        rows = wait_processed(stack, 3)
        assert {r["text"] for r in rows} == {"a", "b", "c"}
        assert all("-worker-mailer-" in r["processed_by"] for r in rows)

        # A rollout: a new version, the same rows, the same database container.
        config = write(stack, version="2")
        second = cli(stack, config, "up")
        assert second.returncode == 0, second.stderr
        assert http("GET", stack.url("/"))[1] == "version 2"
        assert [r["text"] for r in jobs(stack)] == ["a", "b", "c"]
        assert docker_client.api.inspect_container(db_container["Id"])["State"]["Running"]

        # A failed release: exit 1 with its output; version 2 keeps serving, rows kept.
        config = write(stack, version="3", env={"FAIL_RELEASE": "42"})
        failed = cli(stack, config, "up")
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "migration 42 failed on purpose" in failed.stderr
        assert "exited with 3" in failed.stderr
        assert http("GET", stack.url("/"))[1] == "version 2"
        assert [r["text"] for r in jobs(stack)] == ["a", "b", "c"]

        # `run`: the deployed app's image, env and database; output streamed, code returned.
        config = write(stack, version="2")
        count = "import psycopg; print('rows:', psycopg.connect().execute('SELECT count(*) FROM jobs').fetchone()[0])"
        ran = cli(stack, config, "run", "--", "python3", "-c", count)
        assert (ran.returncode, ran.stdout.strip()) == (0, "rows: 3"), ran.stderr
        code = cli(stack, config, "run", "--", "sh", "-c", "echo to-stderr >&2; exit 7")
        assert code.returncode == 7 and "to-stderr" in code.stderr

        # Status shows the database; the password is nowhere deployer prints or labels.
        status = cli(stack, config, "status", "--json")
        assert status.returncode == 0, status.stderr
        details = json.loads(status.stdout)["details"]
        assert [(d["state"], d["health"]) for d in details["database"]] == [("running", "healthy")]
        assert [w["worker"] for w in details["workers"]] == ["mailer"]
        plan = cli(stack, config, "plan", "--json")
        assert plan.returncode == 0, plan.stderr
        planned = {(c["action"], c["kind"], c["name"]) for c in json.loads(plan.stdout)["changes"]}
        db_name = f"deployer-{APP}.{stack.stack}-db"
        assert {("unchanged", "container", db_name), ("unchanged", "volume", db_name)} <= planned
        session = api.open_session(target="local", stack=stack.stack, config=config)
        password = database.password_of(stack.docker, session.context("status"))
        assert password and len(password) >= 24
        printed = [first, second, failed, ran, code, status, plan]
        assert not any(password in p.stdout + p.stderr for p in printed)
        for row in stack.containers():
            assert password not in json.dumps(row["Labels"])

        # The network removed from under the stack (every container force-disconnected):
        # status is degraded; up makes it again and replaces what was on it, the database
        # keeping its data, so the app and the worker reach it again.
        network = f"deployer-{APP}.{stack.stack}"
        for attached in docker_client.api.inspect_network(network)["Containers"]:  # the paused standby too
            docker_client.api.disconnect_container_from_network(attached, network, force=True)
        docker_client.api.remove_network(network)
        degraded = cli(stack, config, "status")
        assert degraded.returncode == 1, degraded.stdout
        assert f"{network}-db is not on the stack's network" in degraded.stdout
        assert re.search(rf"{re.escape(network)}-worker-mailer-\S+ is not on the stack's network", degraded.stdout)
        healed = cli(stack, config, "up")
        assert healed.returncode == 0, healed.stdout + healed.stderr
        assert f"replacing database container {network}-db" in healed.stderr, healed.stderr
        assert [r["text"] for r in jobs(stack)] == ["a", "b", "c"]
        assert http("POST", stack.url("/jobs?text=d"))[0] == 201
        assert all("-worker-mailer-" in r["processed_by"] for r in wait_processed(stack, 4))
        healthy = cli(stack, config, "status")
        assert healthy.returncode == 0 and "is not" not in healthy.stdout, healthy.stdout

        # down keeps the data volume; up finds every row again; down --volumes removes it.
        assert cli(stack, config, "down").returncode == 0
        assert stack.objects()["containers"] == []
        assert stack.objects()["volumes"] == [f"deployer-{APP}.{stack.stack}-db"]
        again = cli(stack, config, "up")
        assert again.returncode == 0, again.stderr
        assert [r["text"] for r in jobs(stack)] == ["a", "b", "c", "d"]
    finally:
        gone = cli(stack, config, "down", "--volumes")
        assert gone.returncode == 0, gone.stderr
    labels = {"label": [f"dev.deployer.{k}={v}" for k, v in stack_objects.items()]}
    assert not (docker_client.api.volumes(filters=labels).get("Volumes") or [])
