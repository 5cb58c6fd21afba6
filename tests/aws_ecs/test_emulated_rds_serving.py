"""The emulated RDS instance's Postgres container (the aws-ecs kit's serving emulator): it
answers once its create returns, as an RDS instance is available once Pulumi's create
returns, so that a task started right after never finds its database still starting."""

from __future__ import annotations

import io
import json
from pathlib import Path

import docker.errors
import pytest

from deployer.plugins.local_docker import database as local_database
from deployer.services import DatabaseSpec
from deployer.testing.aws_ecs import emulated_serving
from deployer.testing.aws_ecs.moto_appliers import Aws

from .conftest import emulated_aws, make_ctx


def test_the_emulated_instance_accepts_connections_once_its_create_returns(docker_client):
    ctx = make_ctx(database=DatabaseSpec(), project_dir=Path("."))
    with emulated_aws() as session, emulated_serving.serving() as scheduler:
        aws = Aws(session, {"deployer-app": "web", "deployer-stack": "rds-ready"})
        secret = aws.secretsmanager.create_secret(
            Name="rds-ready", SecretString=json.dumps({"username": "web", "password": "not-shown"})
        )
        scheduler.prepare(ctx)
        scheduler.start_database(aws, "web-db.emulated", secret["ARN"], "web")

        container = scheduler.stacks[("web", "rds-ready")].database
        command = ["pg_isready", "-h", "127.0.0.1", "-p", str(local_database.PORT), "-U", "web", "-d", "web"]
        exec_id = docker_client.api.exec_create(container, command)["Id"]
        output = docker_client.api.exec_start(exec_id).decode()
        assert docker_client.api.exec_inspect(exec_id)["ExitCode"] == 0, output


def test_an_instance_whose_postgres_stops_fails_its_create_with_the_containers_lines(docker_client):
    with emulated_aws() as session, emulated_serving.serving() as scheduler:
        aws = Aws(session, {"deployer-app": "web", "deployer-stack": "rds-stops"})
        secret = aws.secretsmanager.create_secret(
            Name="rds-stops", SecretString=json.dumps({"username": "web", "password": "not-shown"})
        )
        scheduler.database_image = _image_that_ends_at_once(docker_client)

        with pytest.raises(RuntimeError, match=r"Postgres container stopped \(pg_isready\)") as caught:
            scheduler.start_database(aws, "web-db.emulated", secret["ARN"], "web")
        assert "initdb: no data directory" in str(caught.value)  # its log lines
        assert _containers(docker_client, "web/rds-stops") == [scheduler.stacks[("web", "rds-stops")].database]
    assert _containers(docker_client, "web/rds-stops") == []


def test_an_instance_whose_container_cannot_start_is_removed_with_its_stack(docker_client):
    with emulated_aws() as session, emulated_serving.serving() as scheduler:
        aws = Aws(session, {"deployer-app": "web", "deployer-stack": "rds-no-user"})
        secret = aws.secretsmanager.create_secret(
            Name="rds-no-user", SecretString=json.dumps({"username": "web", "password": "not-shown"})
        )
        scheduler.database_image = "python:3.12-slim"  # no user postgres: Docker cannot start it

        with pytest.raises(docker.errors.APIError, match="postgres"):  # runc: "unable to find user postgres"
            scheduler.start_database(aws, "web-db.emulated", secret["ARN"], "web")
        assert _containers(docker_client, "web/rds-no-user") != []
    assert _containers(docker_client, "web/rds-no-user") == []


def _containers(docker_client, label: str) -> list[str]:
    """The IDs of the emulator's containers of stack ``label`` (``<app>/<stack>``): other
    workers' emulated stacks may run at the same time."""
    return [
        c.id for c in docker_client.containers.list(all=True, filters={"label": f"{emulated_serving.LABEL}={label}"})
    ]


def _image_that_ends_at_once(docker_client) -> str:
    """An image with a ``postgres`` user whose command prints a line and ends; kept on the
    engine between runs as a cached fixture image, its build's containers removed."""
    dockerfile = (
        'FROM python:3.12-slim\nRUN useradd postgres\nCMD ["sh", "-c", "echo initdb: no data directory; exit 1"]\n'
    )
    image, _ = docker_client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag="deployer-test/ends-at-once:1", rm=True, forcerm=True
    )
    return str(image.id)
