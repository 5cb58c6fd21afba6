"""The emulated aws-ecs driver: the real program applied to moto, read back by the
production status and health code.

One moto for the whole module (starting and resetting it costs seconds per test); each
test deploys an app of its own (``app``: its own name, so its own cluster, load
balancer, repository, roles and tags) and looks only at what that app made, so the
tests stay independent of each other and of their order. The driver's refusal to run
outside moto is in test_emulated_outside_moto.py, where no moto is active."""

from __future__ import annotations

import itertools
import json
import re

import boto3
import pytest
from attrs import evolve

from deployer.errors import DeployFailed, UsageError
from deployer.lifecycle import phase_runner
from deployer.plugin_manager import get_plugin_manager
from deployer.testing.aws_ecs import moto_appliers
from deployer.testing.aws_ecs.emulated_driver import EmulatedDriver
from deployer.testing.aws_ecs.emulated_state import state_file

from .conftest import SECRET_VALUE, emulated_aws, make_ctx

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
_APPS = itertools.count(1)


@pytest.fixture
def pm():
    return get_plugin_manager(builtins={"aws-ecs": "deployer.plugins.aws_ecs.plugin"}, entry_points_=[], environ={})


@pytest.fixture(scope="module")
def moto():
    """moto's in-process mock (:func:`.conftest.emulated_aws`), active for the whole
    module; yields a boto3 session on it."""
    with emulated_aws() as session:
        yield session


@pytest.fixture
def app(moto) -> str:
    """A name no other test of the module deploys (``web1``, ``web2``, ...)."""
    return f"web{next(_APPS)}"


@pytest.fixture
def calls():
    """Operation names of every AWS call the driver makes, through its session factory."""
    made: list[str] = []

    def session(region):
        observed = boto3.Session(region_name=region)
        observed.events.register("before-call.*.*", lambda model, **_: made.append(model.name))
        return observed

    return made, EmulatedDriver(session=session)


def ctx_for(tmp_path, name, **app):
    return make_ctx(mode="up", project_dir=tmp_path, name=name, **app)


def inventory(session) -> dict[str, set[str]]:
    """Load balancers, repositories and VPCs (tagged or not) that exist in moto."""
    return {
        "balancers": {b["LoadBalancerArn"] for b in session.client("elbv2").describe_load_balancers()["LoadBalancers"]},
        "repositories": {r["repositoryName"] for r in session.client("ecr").describe_repositories()["repositories"]},
        "vpcs": {v["VpcId"] for v in session.client("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]},
    }


def tagged(name: str) -> list[dict]:
    """An EC2 filter for the objects the driver tagged for app ``name``."""
    return [{"Name": "tag:deployer-app", "Values": [name]}]


def test_up_applies_the_program_and_status_reads_moto(moto, app, pm, tmp_path):
    ctx = ctx_for(tmp_path, app)
    deployment = EmulatedDriver().up(ctx, phase_runner(pm))
    ecs, elbv2 = moto.client("ecs"), moto.client("elbv2")
    balancers = elbv2.describe_load_balancers()["LoadBalancers"]
    (balancer,) = [b for b in balancers if b["LoadBalancerArn"] == deployment.outputs["load_balancer_arn"]]
    assert deployment.endpoint == f"http://{balancer['DNSName']}"
    outputs = deployment.outputs
    (service,) = ecs.describe_services(cluster=outputs["cluster"], services=[outputs["service"]])["services"]
    assert re.fullmatch(rf"{app}-service-[0-9a-f]{{7}}", service["serviceName"])  # Pulumi's autoname
    assert (service["desiredCount"], service["launchType"]) == (2, "FARGATE")
    health = elbv2.describe_target_health(TargetGroupArn=deployment.outputs["target_group_arn"])
    assert [t["TargetHealth"]["State"] for t in health["TargetHealthDescriptions"]] == ["healthy"] * 2
    task = ecs.describe_task_definition(taskDefinition=deployment.outputs["task_definition"])
    (container,) = task["taskDefinition"]["containerDefinitions"]
    repository = outputs["repository_url"].rsplit("/", 1)[1]
    assert re.fullmatch(rf"{app}-repo-[0-9a-f]{{7}}", repository)
    image = moto.client("ecr").describe_images(repositoryName=repository)["imageDetails"][0]
    assert container["image"].endswith("@" + image["imageDigest"])  # by digest, from ECR
    assert container["secrets"][0]["valueFrom"].startswith("arn:aws:secretsmanager:")
    status = EmulatedDriver().status(ctx)
    assert (status.deployed, status.healthy, status.desired) == (True, 2, 2)
    assert status.details["rollout"] == "COMPLETED"
    assert status.spec.env_names == ("API_TOKEN", "LOG_LEVEL")


def test_nat_per_az_routes_each_private_subnet_through_its_zones_gateway_in_moto(moto, app, pm, tmp_path):
    settings = {"nat": True, "nat_per_az": True, "az_count": 3}
    ctx = make_ctx(settings, mode="up", project_dir=tmp_path, name=app, secrets=())
    EmulatedDriver().up(ctx, phase_runner(pm))
    ec2 = moto.client("ec2")
    zone_of = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2.describe_subnets(Filters=tagged(app))["Subnets"]}
    nats = ec2.describe_nat_gateways(Filters=tagged(app))["NatGateways"]
    zone_of_nat = {n["NatGatewayId"]: zone_of[n["SubnetId"]] for n in nats}
    assert len(set(zone_of_nat.values())) == 3
    private = 0
    for table in ec2.describe_route_tables(Filters=tagged(app))["RouteTables"]:
        (nat,) = [r.get("NatGatewayId") for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"] or [
            None
        ]
        if nat is not None:
            for association in table["Associations"]:
                private += 1
                assert zone_of[association["SubnetId"]] == zone_of_nat[nat]
    assert private == 3
    EmulatedDriver().down(ctx)
    available = [*tagged(app), {"Name": "state", "Values": ["available"]}]
    assert ec2.describe_nat_gateways(Filters=available)["NatGateways"] == []


def test_second_up_touches_nothing(moto, app, pm, tmp_path, calls):
    made, driver = calls
    ctx = ctx_for(tmp_path, app)
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


def test_a_changed_input_replaces_the_resource_and_its_dependents(moto, app, pm, tmp_path):
    driver = EmulatedDriver()
    first = driver.up(ctx_for(tmp_path, app), phase_runner(pm))
    changed = ctx_for(tmp_path, app, env={"LOG_LEVEL": "debug", "FEATURE": "on"})
    plan = driver.plan(evolve(changed, mode="plan"), phase_runner(pm))
    touched = {(c.kind.rsplit(":", 1)[-1], c.action) for c in plan.changes if c.action != "unchanged"}
    assert touched == {("TaskDefinition", "update"), ("Service", "update")}
    fields = {c.kind.rsplit(":", 1)[-1]: c.fields for c in plan.changes if c.action != "unchanged"}
    assert fields == {"TaskDefinition": ("containerDefinitions",), "Service": ()}, "the service follows its dependency"
    second = driver.up(changed, phase_runner(pm))
    assert second.outputs["task_definition"] != first.outputs["task_definition"]
    assert second.endpoint == first.endpoint
    status = driver.status(changed)
    assert status.spec.env_names == ("API_TOKEN", "FEATURE", "LOG_LEVEL")
    assert (status.healthy, status.desired) == (2, 2)


def test_down_removes_every_moto_object_and_is_idempotent(moto, app, pm, tmp_path):
    driver, ctx = EmulatedDriver(), ctx_for(tmp_path, app)
    before = inventory(moto)  # what other tests of the module left
    driver.up(ctx, phase_runner(pm))
    assert len(driver.leftovers(ctx)) > 10
    assert inventory(moto) != before
    driver.down(ctx)
    assert driver.leftovers(ctx) == []
    assert not state_file(ctx).exists()
    assert inventory(moto) == before
    driver.down(ctx)
    assert not driver.status(ctx).deployed


def test_state_file_holds_no_secret_value(moto, app, pm, tmp_path):
    ctx = ctx_for(tmp_path, app)
    EmulatedDriver().up(ctx, phase_runner(pm))
    text = state_file(ctx).read_text()
    assert SECRET_VALUE not in text and "[secret]" in text
    state = json.loads(text)
    (secret,) = [r for r in state["resources"] if r["type"].endswith("Secret")]
    value = moto.client("secretsmanager").get_secret_value(SecretId=secret["real"]["arn"])
    assert value["SecretString"] == SECRET_VALUE  # the value went where it belongs only


def test_an_unknown_resource_type_is_an_error_not_a_silent_skip():
    with pytest.raises(DeployFailed, match="cannot apply aws:elasticache/cluster:Cluster"):
        moto_appliers.applier("aws:elasticache/cluster:Cluster")


def test_plugin_manager_swaps_a_targets_driver(pm):
    original = pm.target("aws-ecs")
    pm.use_driver("aws-ecs", EmulatedDriver)
    swapped = pm.target("aws-ecs")
    assert isinstance(swapped.driver(), EmulatedDriver)
    assert (swapped.name, swapped.phases, swapped.plugin) == (original.name, original.phases, original.plugin)
    with pytest.raises(UsageError, match="unknown target 'nope'"):
        pm.use_driver("nope", EmulatedDriver)


@pytest.mark.parametrize("length", [24, 30])
def test_no_name_longer_than_aws_allows_reaches_moto(moto, pm, tmp_path, length):
    """AWS refuses load balancer and target group names over 32 characters; moto does not.
    With Pulumi's autonaming (``<logical>-<7 hex>``) a long app name gives such names: the
    emulator refuses them before moto, as AWS would, naming the resource and the rule (or,
    with a program that names them within the limit, they are within it in moto)."""
    name = f"w{next(_APPS)}".ljust(length, "x")
    elbv2 = moto.client("elbv2")
    before = {b["LoadBalancerName"] for b in elbv2.describe_load_balancers()["LoadBalancers"]}
    driver, ctx = EmulatedDriver(), ctx_for(tmp_path, name)
    try:
        driver.up(ctx, phase_runner(pm))
    except DeployFailed as error:
        assert "AWS would refuse aws:lb/" in str(error) and "AWS allows 1 to 32" in str(error)
        assert "API_Create" in str(error)
    names = {b["LoadBalancerName"] for b in elbv2.describe_load_balancers()["LoadBalancers"]} - before
    names |= {
        g["TargetGroupName"] for g in elbv2.describe_target_groups()["TargetGroups"] if name in g["TargetGroupName"]
    }
    assert all(len(n) <= 32 for n in names), names
    driver.down(ctx)
    assert driver.leftovers(ctx) == []


def test_up_after_a_rolled_back_deployment_retries_it(moto, app, pm, tmp_path):
    """A circuit-breaker rollback puts the service back on the previous task definition
    behind the state's back; the next `up` with the same image refreshes, sees the drift
    and deploys the new revision again (the real driver: `stack.refresh()` before `up`)."""
    driver = EmulatedDriver()
    first = driver.up(ctx_for(tmp_path, app), phase_runner(pm))
    changed = ctx_for(tmp_path, app, env={"LOG_LEVEL": "debug"})
    second = driver.up(changed, phase_runner(pm))
    ecs = moto.client("ecs")
    cluster, service = second.outputs["cluster"], second.outputs["service"]
    # ECS's rollback: the service runs the previous definition again (re-registered here,
    # since the emulator deregistered it when it replaced it)
    previous = ecs.describe_task_definition(taskDefinition=first.outputs["task_definition"])["taskDefinition"]
    rolled_back = ecs.register_task_definition(
        family=previous["family"],
        containerDefinitions=previous["containerDefinitions"],
        cpu=previous["cpu"],
        memory=previous["memory"],
        networkMode=previous["networkMode"],
        requiresCompatibilities=previous["requiresCompatibilities"],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=cluster, service=service, taskDefinition=rolled_back)
    assert ecs.describe_services(cluster=cluster, services=[service])["services"][0]["taskDefinition"] == rolled_back

    lines: list[str] = []
    third = driver.up(evolve(changed, report=lines.append), phase_runner(pm))
    assert any("drifted" in line for line in lines)
    (running,) = ecs.describe_services(cluster=third.outputs["cluster"], services=[third.outputs["service"]])[
        "services"
    ]
    assert running["taskDefinition"] == third.outputs["task_definition"] != rolled_back
    assert driver.status(changed).details["rollout"] == "COMPLETED"


def test_an_image_built_for_another_architecture_runs_on_its_own_or_is_refused(moto, app, pm, tmp_path):
    """The task runs on the image's architecture (the core's ``Image.architecture``): an
    arm64 image gets an ARM64 task by default, where X86_64 tasks would exit at once
    ("exec format error", what the emulator's rule refuses). An ``architecture`` key
    contradicting the image is refused before anything is created."""
    from deployer.errors import ConfigError

    from .conftest import IMAGE

    arm = evolve(IMAGE, architecture="arm64")
    driver = EmulatedDriver()
    default = evolve(ctx_for(tmp_path / "default", app), image=arm)
    deployment = driver.up(default, phase_runner(pm))
    task = moto.client("ecs").describe_task_definition(taskDefinition=deployment.outputs["task_definition"])
    assert task["taskDefinition"]["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    driver.down(default)
    contradicting = evolve(
        make_ctx({"architecture": "X86_64"}, mode="up", project_dir=tmp_path / "x86", name=app), image=arm
    )
    with pytest.raises(ConfigError, match="targets.aws-ecs.architecture"):
        driver.up(contradicting, phase_runner(pm))
    assert driver.leftovers(contradicting) == []
