"""Fixtures for the aws-ecs tests: contexts, offline plans and a resource-graph helper.

Plans run the real program under Pulumi mocks (no CLI, no AWS account); each distinct
configuration is planned once per session because a run takes about a second.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from deployer.models import AppSpec, BuildSpec, HealthCheck, Image, PhaseContext, Replicas, TargetConfig

ALB_CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
SECRET_VALUE = "s3cr3t-value-never-in-plans"
IMAGE = Image("deployer/web", "c0ffee1234", "sha256:" + "ab" * 32)


def make_ctx(settings: Mapping[str, Any] | None = None, *, mode: str = "plan",
             project_dir: Path = Path("/nonexistent/project"), **app: Any) -> PhaseContext:
    """A context for the ``web`` app on aws-ecs; ``app`` keywords override the app spec."""
    from deployer.plugins.aws_ecs.settings import parse_settings

    spec = {"name": "web", "build": BuildSpec(context=Path("app")), "port": 8000,
            "env": {"LOG_LEVEL": "info"}, "secrets": ("API_TOKEN",),
            "health": HealthCheck(path="/healthz"), "replicas": Replicas(2, 2),
            "command": ("gunicorn", "app:create_app()"), **app}
    return PhaseContext(
        app=AppSpec(**spec),
        target=TargetConfig("aws-ecs", parse_settings(dict(settings or {}), "targets.aws-ecs")),
        stack="dev", project_dir=project_dir, mode=mode, image=IMAGE,
        secrets={"API_TOKEN": SECRET_VALUE},
    )


def offline_plan(ctx: PhaseContext):
    """The offline plan through the real plugin manager and phase runner."""
    from deployer.lifecycle import phase_runner
    from deployer.plugin_manager import get_plugin_manager
    from deployer.plugins.aws_ecs import offline

    pm = get_plugin_manager(builtins={"aws-ecs": "deployer.plugins.aws_ecs.plugin"},
                            entry_points_=[], environ={})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return offline.plan(ctx, phase_runner(pm))


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
}


@pytest.fixture(scope="session")
def plans() -> dict[str, Graph]:
    """Offline plans of three configurations: ``default`` (HTTP, public IP, one secret,
    2 fixed replicas), ``tls`` (certificate, autoscaling 1-4) and ``nat`` (3 AZs, NAT)."""
    return {name: Graph(offline_plan(make_ctx(settings, **app)))
            for name, (settings, app) in _CONFIGS.items()}


@pytest.fixture(scope="session")
def graph(plans) -> Graph:
    return plans["default"]
