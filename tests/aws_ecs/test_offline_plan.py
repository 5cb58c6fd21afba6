"""The offline plan itself: shape, references, dependencies, secrets, repeatability."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

from deployer.config import load_project, target_config
from deployer.models import ExpressedSpec, PhaseContext, Replicas
from deployer.plugins.aws_ecs.driver import AwsEcsDriver
from tests.aws_ecs.conftest import IMAGE, SECRET_VALUE, make_ctx, offline_plan

KEYS = {"type", "name", "urn", "id", "inputs", "depends_on", "outputs"}


def _strings(value):
    """Every string inside an input, JSON documents (policies, container definitions) included."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = None
        if isinstance(decoded, (dict, list)):
            yield from _strings(decoded)
        else:
            yield value


def test_every_resource_is_recorded_with_type_name_urn_id_inputs_and_dependencies(plans):
    for graph in plans.values():
        plan = graph.plan
        assert all(set(r) == KEYS for r in plan.resources)
        root = plan.root
        assert (root.action, root.kind, root.name) == ("create", "pulumi:pulumi:Stack", "deployer-web-dev")
        assert [(c.action, c.kind, c.name) for c in plan.changes] == [
            ("create", r["type"], r["name"]) for r in plan.resources
        ]
        assert len({r["urn"] for r in plan.resources}) == len(plan.resources)
        assert len({r["id"] for r in plan.resources}) == len(plan.resources)
        json.dumps({"resources": plan.resources, "outputs": dict(plan.outputs)})


ACCOUNT = "123456789012"


def _passed_on(graph, resource, value) -> bool:
    """A direct dependency of ``resource`` outputs ``value`` too (a validated certificate's
    ARN is the certificate's): the reference goes through it."""
    return any(value in graph.by_urn[urn]["outputs"].values() for urn in resource["depends_on"] if urn in graph.by_urn)


def test_an_input_referring_to_another_resource_is_a_recorded_dependency(plans):
    """References are followable: an input holding another resource's mock id or computed
    attribute (ARN, DNS name, URL; echoed inputs and bare names excluded) names a resource
    the plan lists, and the consumer depends on it (the dependency the SDK sent). The
    account ID is no reference: invokes give it (trust policies), and the registry
    echoes it as ``registryId``."""
    for graph in plans.values():
        owner = {}
        for r in graph.resources:
            own = set(_strings(r["inputs"])) | {r["name"], ACCOUNT}
            for value in [r["id"], *(v for v in r["outputs"].values() if isinstance(v, str))]:
                if value not in own:
                    owner[value] = r["urn"]
        checked = 0
        for resource in graph.resources:
            for value in _strings(resource["inputs"]):
                if value in owner and owner[value] != resource["urn"]:
                    # directly, or through a resource that passes the value on (the
                    # validated certificate's ARN is the certificate's)
                    assert owner[value] in resource["depends_on"] or _passed_on(graph, resource, value), (
                        resource["name"],
                        value,
                    )
                    checked += 1
        assert checked > 20


def test_dependencies_name_only_planned_resources(plans):
    for graph in plans.values():
        urns = set(graph.by_urn)
        assert all(set(r["depends_on"]) <= urns for r in graph.resources)


def test_secret_values_never_appear_and_are_shown_redacted(graph):
    text = graph.text()
    assert SECRET_VALUE not in text and "mock-ecr-password" not in text
    assert graph.one("pulumi:providers:docker")["inputs"]["registryAuth"] == "[secret]"


def test_outputs_are_what_status_and_logs_read(graph):
    outputs = graph.plan.outputs
    assert outputs["endpoint"].startswith("http://web-alb-")
    assert {
        "cluster",
        "service",
        "task_definition",
        "target_group_arn",
        "log_group",
        "region",
        "image_ref",
        "image_id",
    } <= set(outputs)


def test_plan_reads_back_the_expressed_spec(graph):
    """Parity: the planned task definition expresses the app spec like every target."""
    assert graph.plan.spec == ExpressedSpec(
        image_id=IMAGE.id,
        port=8000,
        env_names=("API_TOKEN", "LOG_LEVEL"),
        health_path="/healthz",
        cpu=256,
        memory=512,
        replicas=2,
        command=("gunicorn", "app:create_app()"),
    )


def test_resource_counts_per_configuration(plans):
    """The sizes the docs and the report quote (tutorial: 20 resources, one subnet)."""
    counts = {name: len(graph.resources) for name, graph in plans.items()}
    assert counts == {"default": 34, "tls": 39, "nat": 43, "nat_per_az": 51, "domain": 42}
    assert Counter(r["type"] for r in plans["default"].resources)["aws:ec2/subnet:Subnet"] == 2


REPO = Path(__file__).parents[2]


def test_the_doc_states_the_resource_count_of_the_sample_websites_plan():
    """docs/targets/aws-ecs.md quotes the offline plan of the repo's own deployer.toml (the
    sample website: no secrets, 2 fixed replicas, HTTP), and its phases' base counts add
    up to it."""
    from deployer.plugins.aws_ecs.plugin import deployer_register_targets

    project = load_project(REPO / "deployer.toml")
    assert project.app.secrets == () and project.app.replicas == Replicas(2, 2) and "aws-ecs" not in project.targets
    infos: list = []
    deployer_register_targets(infos.append)
    ctx = PhaseContext(
        app=project.app,
        target=target_config(project, infos[0]),
        stack="dev",
        project_dir=project.root,
        mode="plan",
        image=IMAGE,
    )
    planned = len(offline_plan(ctx).resources)
    doc = " ".join((REPO / "docs" / "targets" / "aws-ecs.md").read_text().split())
    stated = re.search(
        r"With the sample website \(no secrets, 2 fixed replicas, HTTP\) the plan has (\d+) resources", doc
    )
    assert stated and int(stated[1]) == planned
    phases = re.findall(r"### (network|registry|ingress|compute) \((\d+) resources", doc)
    assert len(phases) == 4 and sum(int(n) for _, n in phases) == planned


def test_planning_twice_in_one_process_gives_the_same_plan(graph):
    again = offline_plan(make_ctx())
    assert again.resources == graph.plan.resources


def test_driver_offline_plan_needs_no_cli_credentials_or_network(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    for name in list(os.environ):
        if name.startswith(("AWS_", "PULUMI_")):
            monkeypatch.delenv(name)
    from deployer.lifecycle import phase_runner
    from deployer.plugin_manager import get_plugin_manager

    pm = get_plugin_manager(builtins={"aws-ecs": "deployer.plugins.aws_ecs.plugin"}, entry_points_=[], environ={})
    plan = AwsEcsDriver().plan(make_ctx(project_dir=tmp_path), phase_runner(pm), offline=True)
    assert plan.target == "aws-ecs" and plan.stack == "dev" and len(plan.resources) == 34
    assert list(tmp_path.iterdir()) == []


def test_a_region_from_the_environment_is_checked_as_the_setting_is(monkeypatch, tmp_path):
    """AWS_REGION / AWS_DEFAULT_REGION name the region when the config does not; a typo
    there is refused (exit 2, the variable named) instead of planning a region that is none."""
    import pytest

    from deployer.errors import ConfigError
    from deployer.plugins.aws_ecs.offline import region

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert region(make_ctx(project_dir=tmp_path)) == "eu-west-3"
    monkeypatch.setenv("AWS_REGION", "eu-wset-1")
    with pytest.raises(ConfigError) as error:
        region(make_ctx(project_dir=tmp_path))
    assert error.value.exit_code == 2 and error.value.key == "AWS_REGION"
    assert "did you mean eu-west-1" in str(error.value)
    assert region(make_ctx({"region": "ap-south-1"}, project_dir=tmp_path)) == "ap-south-1"  # the setting wins


def test_the_mocks_give_a_region_as_many_zones_as_aws_lists_for_it():
    """us-east-1 has six AZ IDs (use1-az1 to use1-az6), us-west-2 four; every region at
    least three: https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html"""
    import pytest

    from deployer.errors import ConfigError

    for region, count in (("us-east-1", 6), ("us-west-2", 4)):
        plan = offline_plan(make_ctx({"region": region, "az_count": count}))
        zones = {r["inputs"]["availabilityZone"] for r in plan.resources if r["type"] == "aws:ec2/subnet:Subnet"}
        assert zones == {f"{region}{letter}" for letter in "abcdef"[:count]}
    with pytest.raises(ConfigError, match="only 3 availability zones"):
        offline_plan(make_ctx({"region": "eu-west-1", "az_count": 4}))
