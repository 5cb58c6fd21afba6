"""The emulated aws-ecs driver: the real program applied to moto, read back by the
production status and health code."""

from __future__ import annotations

import json
import warnings

import boto3
import pytest
from attrs import evolve

from deployer.errors import DeployFailed, EnvironmentProblem, UsageError
from deployer.lifecycle import phase_runner
from deployer.plugin_manager import get_plugin_manager
from deployer.testing.aws_ecs import moto_appliers
from deployer.testing.aws_ecs.emulated_driver import EmulatedDriver
from deployer.testing.aws_ecs.emulated_state import state_file

from .conftest import SECRET_VALUE, make_ctx

MUTATING = (
    "Create",
    "Put",
    "Register",
    "Run",
    "Delete",
    "Update",
    "Modify",
    "Attach",
    "Authorize",
    "Revoke",
    "Associate",
    "Deregister",
    "Stop",
    "Detach",
    "Allocate",
)


@pytest.fixture
def pm():
    return get_plugin_manager(builtins={"aws-ecs": "deployer.plugins.aws_ecs.plugin"}, entry_points_=[], environ={})


@pytest.fixture
def moto(aws_env, monkeypatch):
    from moto import mock_aws

    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    monkeypatch.delenv("AWS_REGION", raising=False)
    with warnings.catch_warnings(), mock_aws():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield boto3.Session(region_name="us-east-1")


@pytest.fixture
def calls():
    """Operation names of every AWS call the driver makes, through its session factory."""
    made: list[str] = []

    def session(region):
        observed = boto3.Session(region_name=region)
        observed.events.register("before-call.*.*", lambda model, **_: made.append(model.name))
        return observed

    return made, EmulatedDriver(session=session)


def ctx_for(tmp_path, **app):
    return make_ctx(mode="up", project_dir=tmp_path, **app)


def test_up_applies_the_program_and_status_reads_moto(moto, pm, tmp_path):
    ctx = ctx_for(tmp_path)
    deployment = EmulatedDriver().up(ctx, phase_runner(pm))
    ecs, elbv2 = moto.client("ecs"), moto.client("elbv2")
    (balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    assert deployment.endpoint == f"http://{balancer['DNSName']}"
    (service,) = ecs.describe_services(cluster="web-cluster", services=["web-service"])["services"]
    assert (service["desiredCount"], service["launchType"]) == (2, "FARGATE")
    health = elbv2.describe_target_health(TargetGroupArn=deployment.outputs["target_group_arn"])
    assert [t["TargetHealth"]["State"] for t in health["TargetHealthDescriptions"]] == ["healthy"] * 2
    task = ecs.describe_task_definition(taskDefinition=deployment.outputs["task_definition"])
    (container,) = task["taskDefinition"]["containerDefinitions"]
    image = moto.client("ecr").describe_images(repositoryName="web-repo")["imageDetails"][0]
    assert container["image"].endswith("@" + image["imageDigest"])  # by digest, from ECR
    assert container["secrets"][0]["valueFrom"].startswith("arn:aws:secretsmanager:")
    status = EmulatedDriver().status(ctx)
    assert (status.deployed, status.healthy, status.desired) == (True, 2, 2)
    assert status.details["rollout"] == "COMPLETED"
    assert status.spec.env_names == ("API_TOKEN", "LOG_LEVEL")


def test_nat_per_az_routes_each_private_subnet_through_its_zones_gateway_in_moto(moto, pm, tmp_path):
    ctx = make_ctx({"nat": True, "nat_per_az": True, "az_count": 3}, mode="up", project_dir=tmp_path, secrets=())
    EmulatedDriver().up(ctx, phase_runner(pm))
    ec2 = moto.client("ec2")
    zone_of = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2.describe_subnets()["Subnets"]}
    nats = ec2.describe_nat_gateways()["NatGateways"]
    zone_of_nat = {n["NatGatewayId"]: zone_of[n["SubnetId"]] for n in nats}
    assert len(set(zone_of_nat.values())) == 3
    private = 0
    for table in ec2.describe_route_tables()["RouteTables"]:
        (nat,) = [r.get("NatGatewayId") for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"] or [
            None
        ]
        if nat is not None:
            for association in table["Associations"]:
                private += 1
                assert zone_of[association["SubnetId"]] == zone_of_nat[nat]
    assert private == 3
    EmulatedDriver().down(ctx)
    assert ec2.describe_nat_gateways(Filters=[{"Name": "state", "Values": ["available"]}])["NatGateways"] == []


def test_second_up_touches_nothing(moto, pm, tmp_path, calls):
    made, driver = calls
    ctx = ctx_for(tmp_path)
    driver.up(ctx, phase_runner(pm))
    assert any(name.startswith("Create") for name in made)
    before = state_file(ctx).read_text()
    plan = driver.plan(evolve(ctx, mode="plan"), phase_runner(pm))
    assert {change.action for change in plan.changes} == {"unchanged"}
    made.clear()
    driver.up(ctx, phase_runner(pm))
    assert [name for name in made if name.startswith(MUTATING)] == []
    assert made, "the health wait still reads the service"
    assert state_file(ctx).read_text() == before


def test_a_changed_input_replaces_the_resource_and_its_dependents(moto, pm, tmp_path):
    driver = EmulatedDriver()
    first = driver.up(ctx_for(tmp_path), phase_runner(pm))
    changed = ctx_for(tmp_path, env={"LOG_LEVEL": "debug", "FEATURE": "on"})
    plan = driver.plan(evolve(changed, mode="plan"), phase_runner(pm))
    touched = {(c.kind.rsplit(":", 1)[-1], c.action) for c in plan.changes if c.action != "unchanged"}
    assert touched == {("TaskDefinition", "update"), ("Service", "update")}
    second = driver.up(changed, phase_runner(pm))
    assert second.outputs["task_definition"] != first.outputs["task_definition"]
    assert second.endpoint == first.endpoint
    status = driver.status(changed)
    assert status.spec.env_names == ("API_TOKEN", "FEATURE", "LOG_LEVEL")
    assert (status.healthy, status.desired) == (2, 2)


def test_down_removes_every_moto_object_and_is_idempotent(moto, pm, tmp_path):
    driver, ctx = EmulatedDriver(), ctx_for(tmp_path)
    driver.up(ctx, phase_runner(pm))
    assert len(driver.leftovers(ctx)) > 10
    driver.down(ctx)
    assert driver.leftovers(ctx) == []
    assert not state_file(ctx).exists()
    assert moto.client("elbv2").describe_load_balancers()["LoadBalancers"] == []
    assert moto.client("ecr").describe_repositories()["repositories"] == []
    assert [v for v in moto.client("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]] == []
    driver.down(ctx)
    assert not driver.status(ctx).deployed


def test_state_file_holds_no_secret_value(moto, pm, tmp_path):
    ctx = ctx_for(tmp_path)
    EmulatedDriver().up(ctx, phase_runner(pm))
    text = state_file(ctx).read_text()
    assert SECRET_VALUE not in text and "[secret]" in text
    state = json.loads(text)
    (secret,) = [r for r in state["resources"] if r["type"].endswith("Secret")]
    value = moto.client("secretsmanager").get_secret_value(SecretId=secret["real"]["arn"])
    assert value["SecretString"] == SECRET_VALUE  # the value went where it belongs only


def test_refuses_to_run_outside_moto(aws_env, pm, tmp_path):
    with pytest.raises(EnvironmentProblem, match="mock_aws"):
        EmulatedDriver().up(ctx_for(tmp_path), phase_runner(pm))


def test_an_unknown_resource_type_is_an_error_not_a_silent_skip():
    with pytest.raises(DeployFailed, match="cannot apply aws:rds/instance:Instance"):
        moto_appliers.applier("aws:rds/instance:Instance")


def test_plugin_manager_swaps_a_targets_driver(pm):
    original = pm.target("aws-ecs")
    pm.use_driver("aws-ecs", EmulatedDriver)
    swapped = pm.target("aws-ecs")
    assert isinstance(swapped.driver(), EmulatedDriver)
    assert (swapped.name, swapped.phases, swapped.plugin) == (original.name, original.phases, original.plugin)
    with pytest.raises(UsageError, match="unknown target 'nope'"):
        pm.use_driver("nope", EmulatedDriver)
