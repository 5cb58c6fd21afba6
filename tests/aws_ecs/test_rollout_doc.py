"""Docs cannot drift: the rollout timeline and the rollback depth in docs/targets/aws-ecs.md
give the numbers the program really sets (read from the offline plan, and from the code's
constants), not numbers copied once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import attrs
import pytest

from deployer.plugins.aws_ecs.releases import rollback_depth
from deployer.plugins.aws_ecs.settings import KEEP_IMAGES, AwsSettings
from deployer.plugins.aws_ecs.settings import parse_settings as parse_aws

DOC = Path(__file__).parents[2] / "docs" / "targets" / "aws-ecs.md"
TG = "aws:lb/targetGroup:TargetGroup"
SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"


def section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def rows(text: str) -> dict[str, list[str]]:
    """A markdown table's rows by their first cell: the other cells, stripped."""
    found = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) > 1 and not set(cells[0]) <= {"-"}:
            found[cells[0]] = cells[1:]
    return found


@pytest.fixture(scope="module")
def program(plans):
    """What the default plan creates: the target group's health check and draining, the
    service's deployment settings, the container's health check."""
    graph = plans["default"]
    group, service = graph.one(TG)["inputs"], graph.one(SERVICE)["inputs"]
    (container,) = json.loads(graph.one(TASK)["inputs"]["containerDefinitions"])
    return {
        "check": group["healthCheck"],
        "drain": int(group["deregistrationDelay"]),
        "grace": int(service["healthCheckGracePeriodSeconds"]),
        "service": service,
        "container": container,
    }


def test_the_settings_table_states_what_the_program_creates(program):
    table = rows(section("Rollout timeline, on paper"))
    check, service, container = program["check"], program["service"], program["container"]
    health = container["healthCheck"]
    expected = {
        "health check interval": f"{int(check['interval'])} s",
        "health check timeout": f"{int(check['timeout'])} s",
        "healthy threshold": f"{int(check['healthyThreshold'])}",
        "unhealthy threshold": f"{int(check['unhealthyThreshold'])}",
        "deregistration delay": f"{program['drain']} s",
        "health check grace period": f"{program['grace']} s",
        "minimum healthy / maximum percent": (
            f"{int(service['deploymentMinimumHealthyPercent'])} % / {int(service['deploymentMaximumPercent'])} %"
        ),
        "circuit breaker": "on, with rollback"
        if service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        else "?",
        "container health check": (
            f"every {health['interval']} s, {health['retries']} retries, start period {health['startPeriod']} s"
        ),
        "stop timeout": f"{container['stopTimeout']} s",
    }
    assert {name: table[name][0] for name in expected} == expected


def test_the_milestones_add_up_from_the_programs_values(program):
    table = rows(section("Rollout timeline, on paper"))
    interval, unhealthy = int(program["check"]["interval"]), int(program["check"]["unhealthyThreshold"])
    expected = {
        "new version served (best case)": f"P + {interval} s",
        "old version drained (best case)": f"P + {interval + program['drain']} s",
        "one failing task detected": f"P + {program['grace'] + unhealthy * interval} s",
    }
    assert {name: table[name][0] for name in expected} == expected


def test_the_settings_keys_named_exist():
    """Every `turn it with` key that is a [targets.aws-ecs] key is one."""
    table = rows(section("Rollout timeline, on paper"))
    keys = {k for cells in table.values() for k in re.findall(r"`([a-z_]+)`", cells[-1])}
    assert keys and keys <= {field.name for field in attrs.fields(AwsSettings)}


def test_the_rollback_depth_in_the_doc_is_the_lifecycle_policys():
    text = section("Releases and rollback")
    assert f"**{KEEP_IMAGES}** by default" in text
    assert f"at least the **{rollback_depth(KEEP_IMAGES)}** releases before it" in text
    assert parse_aws({}, "targets.aws-ecs").keep_images == KEEP_IMAGES
