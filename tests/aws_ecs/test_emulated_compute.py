"""Compute changes through the emulated driver. A new secret value rolls out: ``plan``
after a changed value lists the secret version (its value), the task definition (its
``valueFrom`` pins the new version) and the service (a dependency changes); ``up`` puts
the new value in moto's Secrets Manager as a new version and registers a task
definition revision pinned to that version, which the service then runs. An unchanged
value changes nothing, also when the plan runs in another process. The hardened task
definition and the cluster's Container Insights reach moto."""

from __future__ import annotations

import json
import secrets

import pytest
from attrs import evolve
from botocore.exceptions import ClientError

from deployer.lifecycle import phase_runner
from deployer.plugins.aws_ecs import compute, offline
from deployer.testing.aws_ecs.emulated_driver import EmulatedDriver
from deployer.testing.aws_ecs.moto_appliers import APPLIERS, Aws

from .conftest import SECRET_VALUE
from .test_emulated import app, ctx_for, moto, pm  # noqa: F401  (module fixtures)


def _pinned(moto, task_definition: str) -> str:  # noqa: F811
    task = moto.client("ecs").describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    ((secret,),) = [c["secrets"] for c in task["containerDefinitions"]]
    return secret["valueFrom"]


def test_a_new_secret_value_rolls_out_a_task_definition_pinned_to_its_new_version(
    moto,  # noqa: F811
    app,  # noqa: F811
    pm,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    driver = EmulatedDriver()
    ctx = ctx_for(tmp_path, app)
    first = driver.up(ctx, phase_runner(pm))
    secrets_manager, ecs = moto.client("secretsmanager"), moto.client("ecs")
    arn, _, _, first_version = _pinned(moto, first.outputs["task_definition"]).rsplit(":", 3)
    held = secrets_manager.get_secret_value(SecretId=arn)
    assert (held["SecretString"], held["VersionId"]) == (SECRET_VALUE, first_version)

    monkeypatch.setattr(offline, "_VERSION_KEY", secrets.token_bytes(32))  # as a new process would
    unchanged = driver.plan(evolve(ctx, mode="plan"), phase_runner(pm))
    assert {c.action for c in unchanged.changes} == {"unchanged"}

    changed = evolve(ctx, secrets={"API_TOKEN": "a-rotated-value"})
    plan = driver.plan(evolve(changed, mode="plan"), phase_runner(pm))
    touched = {
        (c.kind.rsplit(":", 1)[-1], c.action, c.detail, c.fields) for c in plan.changes if c.action != "unchanged"
    }
    assert touched == {
        ("SecretVersion", "update", "a secret value changed", ("secretString",)),
        ("TaskDefinition", "update", "inputs changed", ("containerDefinitions",)),
        ("Service", "update", "a dependency changes", ()),
    }
    assert "a-rotated-value" not in json.dumps([c.detail for c in plan.changes])

    second = driver.up(changed, phase_runner(pm))
    assert second.outputs["task_definition"] != first.outputs["task_definition"]
    assert second.outputs["task_definition"].rsplit(":", 1)[1] == "2"  # a new revision of the family
    arn_again, _, _, second_version = _pinned(moto, second.outputs["task_definition"]).rsplit(":", 3)
    held = secrets_manager.get_secret_value(SecretId=arn)
    assert arn_again == arn and second_version != first_version
    assert (held["SecretString"], held["VersionId"]) == ("a-rotated-value", second_version)
    (service,) = ecs.describe_services(cluster=second.outputs["cluster"], services=[second.outputs["service"]])[
        "services"
    ]
    assert service["taskDefinition"] == second.outputs["task_definition"]


def test_the_hardened_task_and_container_insights_reach_the_emulator(moto, app, pm, tmp_path):  # noqa: F811
    deployment = EmulatedDriver().up(ctx_for(tmp_path, app), phase_runner(pm))
    ecs = moto.client("ecs")
    task = ecs.describe_task_definition(taskDefinition=deployment.outputs["task_definition"])["taskDefinition"]
    assert [v["name"] for v in task["volumes"]] == ["tmp"]
    (container,) = task["containerDefinitions"]
    assert container["readonlyRootFilesystem"] is True
    assert container["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    (cluster,) = ecs.describe_clusters(clusters=[deployment.outputs["cluster"]], include=["SETTINGS"])["clusters"]
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]


def test_the_execution_role_holds_the_aws_managed_policy_and_an_unknown_one_is_refused(
    moto,  # noqa: F811
    app,  # noqa: F811
    pm,  # noqa: F811
    tmp_path,
):
    """The emulator gives moto an AWS managed policy only when AWS has one of that ARN."""
    EmulatedDriver().up(ctx_for(tmp_path, app), phase_runner(pm))
    iam = moto.client("iam")
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(app)]
    attached = {
        p["PolicyArn"] for role in roles for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    }
    assert compute.execution_policy("aws") in attached
    attach = APPLIERS["aws:iam/rolePolicyAttachment:RolePolicyAttachment"].create
    unknown = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicyV9"
    with pytest.raises(ClientError, match="does not exist or is not attachable"):
        attach(Aws(moto, {}), {"role": roles[0], "policyArn": unknown}, "unknown")
