"""Parity: one config, deployed on the local target and planned for aws-ecs, is expressed
the same way on both: the same image ID (pushed to ECR and referenced by digest), port,
env and secret names, health check path, cpu, memory, replicas and command.

Local runs for real on the Docker engine; aws-ecs runs its real Pulumi program under
Pulumi mocks (``plan --offline``), since no AWS account exists here.
"""

from __future__ import annotations

import json
import re

import pytest

from deployer import api
from deployer.testing import free_port, write_project
from tests import built_images

pytestmark = pytest.mark.docker

APP = {
    "name": "parity",
    "port": 8000,
    "command": ["python3", "/srv/app.py"],
    "env": {"GREETING": "hello", "APP_VERSION": "7"},
    "secrets": ["PARITY_TOKEN"],
    "health": {"path": "/healthz", "interval": 5, "timeout": 3},
    "cpu": 512,
    "memory": 1024,
    "replicas": 2,
}


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The running local stack's status and the aws-ecs offline plan of one config."""
    folder = tmp_path_factory.mktemp("parity")
    config = write_project(
        folder,
        app=APP,
        targets={"local": {"host_port": free_port(), "health_interval": 1}, "aws-ecs": {"region": "eu-west-1"}},
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PARITY_TOKEN", "parity-secret-value")
        local = api.open_session(target="local", stack="parity", config=config)
        api.up(local)
        try:
            aws = api.open_session(target="aws-ecs", stack="parity", config=config)
            yield api.status(local), api.plan(aws, offline=True)
        finally:
            api.down(local)
            built_images.note(APP["name"], config)


def test_both_targets_express_the_same_spec(both):
    status, plan = both
    assert status.spec is not None and plan.spec is not None
    for field in ("image_id", "port", "env_names", "health_path", "cpu", "memory", "replicas", "command"):
        assert getattr(status.spec, field) == getattr(plan.spec, field), field
    assert status.spec.env_names == ("APP_VERSION", "GREETING", "PARITY_TOKEN")
    assert status.spec.command == ("python3", "/srv/app.py")
    assert (status.spec.cpu, status.spec.memory, status.spec.replicas) == (512, 1024, 2)


def test_aws_pushes_the_image_local_runs_and_references_it_by_digest(both):
    status, plan = both
    by_type = {r["type"]: r for r in plan.resources}
    tag = by_type["docker:index/tag:Tag"]["inputs"]
    assert tag["sourceImage"] == status.spec.image_id  # the very image local runs
    containers = json.loads(by_type["aws:ecs/taskDefinition:TaskDefinition"]["inputs"]["containerDefinitions"])
    assert re.fullmatch(
        r"\d{12}\.dkr\.ecr\.eu-west-1\.amazonaws\.com/[\w-]+@sha256:[0-9a-f]{64}", containers[0]["image"]
    )
    assert containers[0]["image"] == plan.outputs["image_ref"]


def test_secret_values_stay_out_of_both(both):
    status, plan = both
    for document in (repr(status), repr(plan), json.dumps(list(plan.resources), default=str)):
        assert "parity-secret-value" not in document
