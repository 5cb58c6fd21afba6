"""aws-ecs offline plans for one-off tasks and ECS Exec: the release command's own task
definition (same image, env, secrets and database as the web container), the outputs a
one-off task is placed with, and ``exec = true`` (enableExecuteCommand, the task role's
ssmmessages policy, a writable root filesystem as ECS Exec requires)."""

from __future__ import annotations

import json

import pytest

from deployer.errors import ConfigError
from deployer.plugins.aws_ecs.settings import parse_settings
from deployer.services import DatabaseSpec
from tests.aws_ecs.conftest import Graph, make_ctx, offline_plan

TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
POLICY = "aws:iam/rolePolicy:RolePolicy"
SSM = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


def container(graph: Graph, name: str) -> dict:
    (definition,) = json.loads(graph.one(TASK, name)["inputs"]["containerDefinitions"])
    return definition


@pytest.fixture(scope="module")
def release_graph() -> Graph:
    ctx = make_ctx(release_command=("python", "-m", "migrate"), database=DatabaseSpec(version="16", storage_gb=20))
    return Graph(offline_plan(ctx))


@pytest.fixture(scope="module")
def exec_graph() -> Graph:
    return Graph(offline_plan(make_ctx({"exec": True})))


def test_the_release_command_gets_its_own_task_definition_of_the_web_container(release_graph):
    web, release = container(release_graph, "web-task"), container(release_graph, "web-release-task")
    assert release["command"] == ["python", "-m", "migrate"]
    assert release["image"] == web["image"]
    assert release["environment"] == web["environment"]  # the database's PG* variables included
    assert {e["name"] for e in release["environment"]} >= {"PGHOST", "DATABASE_URL"}
    assert release["secrets"] == web["secrets"]  # API_TOKEN and the RDS password
    assert release["portMappings"] == [] and "healthCheck" not in release
    assert release["logConfiguration"]["options"]["awslogs-stream-prefix"] == "release"
    task = release_graph.one(TASK, "web-release-task")["inputs"]
    assert task["family"] == "web-dev-release"
    web_task = release_graph.one(TASK, "web-task")["inputs"]
    assert (task["executionRoleArn"], task["taskRoleArn"]) == (web_task["executionRoleArn"], web_task["taskRoleArn"])


def test_the_outputs_place_one_off_tasks_where_the_service_runs(release_graph):
    outputs = release_graph.plan.outputs
    service = release_graph.one(SERVICE)["inputs"]["networkConfiguration"]
    assert outputs["task_subnets"] == service["subnets"]
    assert [outputs["task_security_group"]] == service["securityGroups"]
    assert outputs["assign_public_ip"] == service["assignPublicIp"]
    assert outputs["release_task_definition"] == release_graph.one(TASK, "web-release-task")["outputs"]["arn"]


def test_without_a_release_command_there_is_no_release_task_definition(graph):
    assert [r["name"] for r in graph.all(TASK)] == ["web-task"]
    assert "release_task_definition" not in graph.plan.outputs


def test_exec_enables_ecs_exec_on_the_service_and_the_ssm_channels_for_the_task_role(exec_graph):
    service = exec_graph.one(SERVICE)
    assert service["inputs"]["enableExecuteCommand"] is True
    policy = exec_graph.one(POLICY, "web-exec")
    task_role = exec_graph.one("aws:iam/role:Role", "web-task-role")
    assert policy["inputs"]["role"] == task_role["id"]
    (statement,) = json.loads(policy["inputs"]["policy"])["Statement"]
    assert statement == {"Effect": "Allow", "Action": SSM, "Resource": "*"}
    assert exec_graph.depends(service, policy)  # no task starts before it may open the channels
    # the SSM agent writes to the container's filesystem: ECS Exec does not support a read-only root
    assert container(exec_graph, "web-task")["readonlyRootFilesystem"] is False


def test_without_exec_nothing_of_it_is_planned(graph):
    assert not graph.one(SERVICE)["inputs"].get("enableExecuteCommand", False)
    assert all(p["name"] != "web-exec" for p in graph.all(POLICY))
    assert "ssmmessages" not in graph.text()
    assert graph.container()["readonlyRootFilesystem"] is True


def test_exec_must_be_a_boolean():
    with pytest.raises(ConfigError, match="targets.aws-ecs.exec"):
        parse_settings({"exec": "yes"}, "targets.aws-ecs")


def test_exec_and_a_release_command_each_add_one_resource_as_documented(graph, exec_graph):
    released = Graph(offline_plan(make_ctx(release_command=("python", "-m", "migrate"))))
    assert len(exec_graph.resources) == len(graph.resources) + 1
    assert len(released.resources) == len(graph.resources) + 1
