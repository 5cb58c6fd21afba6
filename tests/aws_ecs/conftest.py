"""Fixtures for the aws-ecs tests: contexts, offline plans and a resource-graph helper.

Plans run the real program under Pulumi mocks (no CLI, no AWS account); each distinct
configuration is planned once per session because a run takes about a second.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from deployer.models import (
    AppSpec,
    BuildSpec,
    HealthCheck,
    Image,
    PhaseContext,
    Replicas,
    TargetConfig,
)

ALB_CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
SECRET_VALUE = "s3cr3t-value-never-in-plans"
IMAGE = Image("deployer/web", "c0ffee1234", "sha256:" + "ab" * 32)


def make_ctx(
    settings: Mapping[str, Any] | None = None,
    *,
    mode: str = "plan",
    project_dir: Path = Path("/nonexistent/project"),
    **app: Any,
) -> PhaseContext:
    """A context for the ``web`` app on aws-ecs; ``app`` keywords override the app spec."""
    from deployer.plugins.aws_ecs.settings import parse_settings

    spec = {
        "name": "web",
        "build": BuildSpec(context=Path("app")),
        "port": 8000,
        "env": {"LOG_LEVEL": "info"},
        "secrets": ("API_TOKEN",),
        "health": HealthCheck(path="/healthz"),
        "replicas": Replicas(2, 2),
        "command": ("gunicorn", "app:create_app()"),
        **app,
    }
    return PhaseContext(
        app=AppSpec(**spec),
        target=TargetConfig("aws-ecs", parse_settings(dict(settings or {}), "targets.aws-ecs")),
        stack="dev",
        project_dir=project_dir,
        mode=mode,
        image=IMAGE,
        secrets={"API_TOKEN": SECRET_VALUE},
    )


def offline_plan(ctx: PhaseContext, mocks: Any = None):
    """The offline plan through the real plugin manager and phase runner (under
    ``mocks``, an :class:`~deployer.plugins.aws_ecs.offline.PlanMocks`, when given)."""
    from deployer.lifecycle import phase_runner
    from deployer.plugin_manager import get_plugin_manager
    from deployer.plugins.aws_ecs import offline

    pm = get_plugin_manager(builtins={"aws-ecs": "deployer.plugins.aws_ecs.plugin"}, entry_points_=[], environ={})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return offline.plan(ctx, phase_runner(pm), mocks=mocks)


class Graph:
    """The recorded resources of a plan, queried by type, name, URN and reference."""

    def __init__(self, plan):
        self.plan = plan
        self.resources = list(plan.resources)
        self.by_urn = {r["urn"]: r for r in self.resources}

    def all(self, type_token: str) -> list[dict]:
        return [r for r in self.resources if r["type"] == type_token]

    def one(self, type_token: str, name: str | None = None) -> dict:
        found = [r for r in self.all(type_token) if name is None or r["name"] == name]
        assert len(found) == 1, f"expected one {type_token} {name or ''}, found {len(found)}"
        return found[0]

    def depends(self, resource: dict, on: dict) -> bool:
        return on["urn"] in resource["depends_on"]

    def container(self) -> dict:
        task = self.one("aws:ecs/taskDefinition:TaskDefinition")
        (definition,) = json.loads(task["inputs"]["containerDefinitions"])
        return definition

    def text(self) -> str:
        return json.dumps({"resources": self.resources, "outputs": dict(self.plan.outputs)})


_CONFIGS = {
    "default": ({}, {}),
    "tls": ({"certificate_arn": ALB_CERT, "region": "eu-west-1"}, {"replicas": Replicas(1, 4)}),
    "nat": ({"nat": True, "az_count": 3}, {"secrets": ()}),
    "nat_per_az": ({"nat": True, "nat_per_az": True, "az_count": 3}, {"secrets": ()}),
    "domain": ({"domain": "www.example.com"}, {}),
}


@pytest.fixture(scope="session")
def plans() -> dict[str, Graph]:
    """Offline plans of three configurations: ``default`` (HTTP, public IP, one secret,
    2 fixed replicas), ``tls`` (certificate, autoscaling 1-4), ``nat`` (3 AZs, one NAT
    gateway), ``nat_per_az`` (3 AZs, a NAT gateway in each) and ``domain`` (an ACM
    certificate and Route 53 records for www.example.com)."""
    return {name: Graph(offline_plan(make_ctx(settings, **app))) for name, (settings, app) in _CONFIGS.items()}


@pytest.fixture(scope="session")
def graph(plans) -> Graph:
    return plans["default"]


@pytest.fixture
def aws_env(monkeypatch):
    """:func:`~deployer.testing.aws_ecs.fake_aws.fake_aws_environment` for one test."""
    from deployer.testing.aws_ecs.fake_aws import fake_aws_environment

    fake_aws_environment(monkeypatch)


@contextlib.contextmanager
def emulated_aws() -> Iterator[Any]:
    """moto's in-process mock with fake credentials; yields the kit's shared boto3 session
    in us-east-1 (:func:`~deployer.testing.aws_ecs.moto_appliers.session`: never change it)."""
    from moto import mock_aws

    from deployer.testing.aws_ecs import moto_appliers
    from deployer.testing.aws_ecs.fake_aws import fake_aws_environment

    with pytest.MonkeyPatch.context() as patch:
        fake_aws_environment(patch)
        with mock_aws():
            yield moto_appliers.session("us-east-1")


@pytest.fixture
def moto_session():
    """:func:`emulated_aws` for one test."""
    with emulated_aws() as session:
        yield session


@pytest.fixture(scope="module")
def deployed():
    """A deployed stack in moto (ECS, ELBv2, EC2, CloudWatch Logs): 2 running tasks, 2
    healthy IP targets; yields the boto3 session and the stack outputs ``up`` exports.
    One per module (moto stays active until the module ends): tests read it and must
    not change it; one that writes (log events, say) writes where no other test reads."""
    from moto import mock_aws

    from deployer.testing.aws_ecs import moto_appliers
    from deployer.testing.aws_ecs.fake_aws import fake_aws_environment

    with pytest.MonkeyPatch.context() as patch, mock_aws():
        fake_aws_environment(patch)
        patch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")  # moto's knob for runningCount
        session = moto_appliers.session("us-east-1")
        ec2, ecs, elbv2 = (session.client(n) for n in ("ec2", "ecs", "elbv2"))
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"][
                "SubnetId"
            ]
            for i, zone in enumerate("ab")
        ]
        group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
        balancer = elbv2.create_load_balancer(
            Name="web-alb", Subnets=subnets, Type="application", SecurityGroups=[group]
        )["LoadBalancers"][0]
        target_group = elbv2.create_target_group(
            Name="web-tg", Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip", HealthCheckPath="/healthz"
        )["TargetGroups"][0]["TargetGroupArn"]
        elbv2.create_listener(
            LoadBalancerArn=balancer["LoadBalancerArn"],
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
        )
        ecs.create_cluster(clusterName="web-cluster")
        task = ecs.register_task_definition(
            family="web-dev",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            containerDefinitions=[
                {
                    "name": "web",
                    "image": "repo@sha256:" + "0" * 64,
                    "portMappings": [{"containerPort": 8000}],
                    "environment": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "PORT", "value": "8000"}],
                    "command": ["gunicorn", "app:create_app()"],
                }
            ],
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(
            cluster="web-cluster",
            serviceName="web-service",
            taskDefinition=task,
            desiredCount=2,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group], "assignPublicIp": "ENABLED"}
            },
            loadBalancers=[{"targetGroupArn": target_group, "containerName": "web", "containerPort": 8000}],
        )
        elbv2.register_targets(
            TargetGroupArn=target_group, Targets=[{"Id": "10.0.0.10", "Port": 8000}, {"Id": "10.0.1.10", "Port": 8000}]
        )
        session.client("logs").create_log_group(logGroupName="/deployer/web/dev")
        yield (
            session,
            {
                "endpoint": f"http://{balancer['DNSName']}",
                "cluster": "web-cluster",
                "service": "web-service",
                "task_definition": task,
                "target_group_arn": target_group,
                "log_group": "/deployer/web/dev",
                "region": "us-east-1",
                "image_ref": "repo@sha256:" + "0" * 64,
                "image_id": IMAGE.id,
            },
        )
