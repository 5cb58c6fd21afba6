"""The emulated RDS instance's Postgres container (the aws-ecs kit's serving emulator): it
answers once its create returns, as an RDS instance is available once Pulumi's create
returns, so that a task started right after never finds its database still starting."""

from __future__ import annotations

import json
from pathlib import Path

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
