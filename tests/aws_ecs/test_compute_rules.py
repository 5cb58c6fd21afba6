"""Compute rules for running on a real AWS account: secret rollouts, a log group that
survives lost state, a hardened container and trust policies bound to the account.

Each test reads the offline plan's resource graph (``plan --offline``: the real program
under Pulumi mocks) and cites the AWS documentation of its rule.
"""

from __future__ import annotations

import json

import pytest

from deployer.healthcheck import probe_command
from tests.aws_ecs.conftest import SECRET_VALUE, Graph, make_ctx, offline_plan

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
ROLE = "aws:iam/role:Role"
CLUSTER = "aws:ecs/cluster:Cluster"


def _plan_with_secret(value: str) -> Graph:
    from attrs import evolve

    return Graph(offline_plan(evolve(make_ctx(), secrets={"API_TOKEN": value})))


# --- secrets roll out ---------------------------------------------------------------------


def test_secret_reference_is_pinned_to_the_secret_version(graph):
    """``valueFrom`` names the version: ``<secret ARN>:<json-key>:<version-stage>:<version-id>``
    with the JSON key and stage left empty, so a new value is a new task definition.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html"""
    secret = graph.one(SECRET)
    version = graph.one(SECRET_VERSION)
    (entry,) = graph.container()["secrets"]
    assert entry["valueFrom"] == f"{secret['outputs']['arn']}:::{version['outputs']['versionId']}"
    assert graph.depends(graph.one(TASK), version)


def test_a_new_secret_value_changes_the_task_definition():
    """Two plans differing only in a secret's value differ in the task definition's
    ``containerDefinitions`` (so ECS rolls out tasks that read the new value), and
    neither value appears anywhere in either plan."""
    first, second = _plan_with_secret("first-value-AAAA"), _plan_with_secret("second-value-BBBB")
    assert first.one(TASK)["inputs"]["containerDefinitions"] != second.one(TASK)["inputs"]["containerDefinitions"]
    assert _plan_with_secret("first-value-AAAA").container() == first.container()  # same value, same plan
    for graph in (first, second):
        assert "first-value-AAAA" not in graph.text() and "second-value-BBBB" not in graph.text()


def test_the_execution_role_reads_the_secret_itself_not_a_version(graph):
    """IAM's resource for GetSecretValue is the secret ARN, whatever version is read.
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_iam-policies.html"""
    policy = graph.one("aws:iam/rolePolicy:RolePolicy")
    (statement,) = json.loads(policy["inputs"]["policy"])["Statement"]
    assert statement["Resource"] == [graph.one(SECRET)["outputs"]["arn"]]
    assert SECRET_VALUE not in graph.text()


# --- the log group survives lost state ----------------------------------------------------


def test_log_group_is_autonamed_from_a_prefix(graph):
    """A fixed log group name makes the next ``up`` after lost state fail with
    ResourceAlreadyExistsException (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html);
    a ``name_prefix`` gets a fresh unique name each time, and awslogs follows it."""
    group = graph.one(LOG_GROUP)
    assert "name" not in group["inputs"]
    assert group["inputs"]["namePrefix"] == "/deployer/web/dev/"
    options = graph.container()["logConfiguration"]["options"]
    assert options["awslogs-group"] == group["outputs"]["name"]
    assert options["awslogs-group"].startswith("/deployer/web/dev/")
    assert graph.depends(graph.one(TASK), group)


# --- a hardened container ----------------------------------------------------------------


def test_root_filesystem_is_read_only_with_a_writable_tmp(graph):
    """``readonlyRootFilesystem`` with a task volume mounted at /tmp (Fargate task storage).
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/security-tasks-containers.html and
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-storage.html"""
    container = graph.container()
    assert container["readonlyRootFilesystem"] is True
    assert container["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
    assert graph.one(TASK)["inputs"]["volumes"] == [{"name": "tmp"}]


def test_every_capability_is_dropped_and_an_init_process_reaps(graph):
    """``linuxParameters.capabilities.drop = ["ALL"]`` (Fargate allows dropping any) and
    ``initProcessEnabled``; an explicit ``stopTimeout`` (Fargate: at most 120 s).
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_KernelCapabilities.html,
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinuxParameters.html,
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html"""
    container = graph.container()
    assert container["linuxParameters"] == {"capabilities": {"drop": ["ALL"]}, "initProcessEnabled": True}
    assert 2 <= container["stopTimeout"] <= 120


def test_container_health_check_is_the_shared_probe_which_writes_nothing(graph):
    """The task definition runs ``deployer.healthcheck.probe_command`` through CMD-SHELL,
    the probe every target runs (BusyBox wget included); it writes only to /dev/null, so
    the read-only root filesystem cannot break it."""
    check = graph.container()["healthCheck"]["command"]
    assert check[0] == "CMD-SHELL"
    assert check[1] == probe_command(8000, "/healthz", 5)
    assert "-O /dev/null" in check[1] and " > " not in check[1].replace(">/dev/null", "")


def test_role_trust_policies_are_bound_to_the_account(graph):
    """Confused deputy: ``aws:SourceAccount`` on both roles; ``aws:SourceArn`` (all ECS
    resources of the account and region) on the task role, as the ECS docs show.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html and
    https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"""
    for name in ("web-execution-role", "web-task-role"):
        (statement,) = json.loads(graph.one(ROLE, name)["inputs"]["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    (statement,) = json.loads(graph.one(ROLE, "web-task-role")["inputs"]["assumeRolePolicy"])["Statement"]
    assert statement["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:ecs:us-east-1:123456789012:*"}


@pytest.mark.parametrize(("settings", "value"), [({}, "enabled"), ({"container_insights": False}, "disabled")])
def test_container_insights_is_on_by_default(settings, value):
    """Container Insights on the cluster (``containerInsights`` setting), off with
    ``container_insights = false``.
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ClusterSetting.html"""
    graph = Graph(offline_plan(make_ctx(settings)))
    assert graph.one(CLUSTER)["inputs"]["settings"] == [{"name": "containerInsights", "value": value}]


def test_a_non_root_image_without_a_tmp_volume_is_warned_about():
    """Fargate creates a bind mount owned by root with mode 0755 unless the image declares
    the path as a ``VOLUME`` (then its owner and mode are kept), so a non-root USER can
    write /tmp only with ``VOLUME ["/tmp"]`` in the Dockerfile.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html"""
    from attrs import evolve

    from tests.aws_ecs.conftest import IMAGE

    lines: list[str] = []
    ctx = evolve(make_ctx(), image=evolve(IMAGE, user="10001"), report=lines.append)
    offline_plan(ctx)
    assert any('VOLUME ["/tmp"]' in line for line in lines)
    lines.clear()
    offline_plan(evolve(ctx, image=evolve(IMAGE, user="10001", volumes=("/tmp",))))
    assert not any("/tmp" in line for line in lines)


@pytest.mark.parametrize(
    "region,partition,dns",
    [("cn-north-1", "aws-cn", "amazonaws.com.cn"), ("us-gov-west-1", "aws-us-gov", "amazonaws.com")],
)
def test_the_execution_roles_managed_policy_is_in_the_stacks_partition(region, partition, dns):
    """In China or GovCloud AWS's managed policy has that partition's ARN (the offline
    plan answers getPartition for the region, as AWS does), as has every mock ARN."""
    graph = Graph(offline_plan(make_ctx({"region": region})))
    attachment = graph.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment["inputs"]["policyArn"] == (
        f"arn:{partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    )
    balancer = graph.one("aws:lb/loadBalancer:LoadBalancer")["outputs"]
    assert balancer["arn"].startswith(f"arn:{partition}:elasticloadbalancing:{region}:")
    assert balancer["dnsName"].endswith(f".{region}.elb.{dns}")


def test_an_empty_secret_is_an_empty_variable_never_an_empty_secret_string():
    """A Secrets Manager ``SecretString`` holds 1 to 65,536 bytes
    (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html):
    with ``allow_empty_secrets`` an empty secret is passed as an empty plain variable, with
    no secret, version or grant of its own; the other secrets are stored as before."""
    from attrs import evolve

    from deployer.plugins.aws_ecs.offline import PlanMocks, plain

    ctx = make_ctx(secrets=("API_TOKEN", "SENTRY_DSN"), allow_empty_secrets=True)
    mocks = PlanMocks("us-east-1")
    graph = Graph(offline_plan(evolve(ctx, secrets={"API_TOKEN": SECRET_VALUE, "SENTRY_DSN": ""}), mocks))
    stored = [plain(i.get("secretString"), reveal=True) for (t, _), i in mocks.inputs.items() if t == SECRET_VERSION]
    assert stored == [SECRET_VALUE], "one version, of the non-empty secret"
    assert all(1 <= len(value.encode()) <= 65536 for value in stored)
    assert [s["name"] for s in graph.all(SECRET)] == ["web-secret-api-token"]
    container = graph.container()
    assert {"name": "SENTRY_DSN", "value": ""} in container["environment"]
    assert [s["name"] for s in container["secrets"]] == ["API_TOKEN"]


def test_more_secrets_than_the_execution_role_policy_can_name_are_refused_up_front():
    """IAM: "Role policy size cannot exceed 10,240 characters" (whitespace not counted,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html). The role
    names each secret's ARN (a name pattern would rename, so replace, every secret), so
    too many are refused before anything is created, and the measure is never below the
    policy the program registers."""
    from attrs import evolve

    from deployer.errors import ConfigError
    from deployer.plugins.aws_ecs import secrets_policy

    names = tuple(f"THIRD_PARTY_INTEGRATION_PROVIDER_API_SIGNING_SECRET_{n:03}" for n in range(150))
    with pytest.raises(ConfigError) as caught:
        secrets_policy.check(make_ctx(secrets=names))
    assert caught.value.key == "app.secrets" and "over the 10,240 IAM allows" in caught.value.message
    fitting = names[:40]
    ctx = evolve(make_ctx(secrets=fitting), secrets=dict.fromkeys(fitting, SECRET_VALUE))
    secrets_policy.check(ctx)
    document = Graph(offline_plan(ctx)).one("aws:iam/rolePolicy:RolePolicy")["inputs"]["policy"]
    assert len(json.loads(document)["Statement"][0]["Resource"]) == 40
    assert len("".join(document.split())) <= secrets_policy.longest(ctx) <= 10240
