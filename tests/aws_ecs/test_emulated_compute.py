"""Compute changes through the emulated driver. A new secret value rolls out: ``plan``
after a changed value lists the task definition (its inputs changed: the pinned version)
and the service (a dependency changes), and ``up`` registers a new task definition
revision. The hardened task definition and the cluster's Container Insights reach moto.

(The emulator's state redacts secret values, so it does not see the secret version itself
change and leaves moto's stored value as it was: its limitation, not the program's.)"""

from __future__ import annotations

from attrs import evolve

from deployer.lifecycle import phase_runner
from deployer.testing.aws_ecs.emulated_driver import EmulatedDriver

from .test_emulated import app, ctx_for, moto, pm  # noqa: F401  (module fixtures)


def test_a_new_secret_value_updates_the_task_definition_and_the_service(moto, app, pm, tmp_path):  # noqa: F811
    driver = EmulatedDriver()
    ctx = ctx_for(tmp_path, app)
    first = driver.up(ctx, phase_runner(pm))
    changed = evolve(ctx, secrets={"API_TOKEN": "a-rotated-value"})
    plan = driver.plan(evolve(changed, mode="plan"), phase_runner(pm))
    touched = {(c.kind.rsplit(":", 1)[-1], c.action, c.detail) for c in plan.changes if c.action != "unchanged"}
    assert ("TaskDefinition", "update", "inputs changed") in touched
    assert ("Service", "update", "a dependency changes") in touched
    second = driver.up(changed, phase_runner(pm))
    assert second.outputs["task_definition"] != first.outputs["task_definition"]


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
