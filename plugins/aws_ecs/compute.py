"""Phase 4, compute: a Fargate service running the pushed image behind the target group.

Creates: an ECS cluster; an execution role with AWS's managed
``AmazonECSTaskExecutionRolePolicy`` (pull from ECR, write logs) and, when the app has
secrets, a policy allowing ``secretsmanager:GetSecretValue`` on exactly those secrets;
a task role with no policy at all (with ``exec = true`` only the ECS Exec channels,
:data:`EXEC_ACTIONS`); one Secrets Manager secret + version per app secret
(value stored as a Pulumi secret); a CloudWatch log group with retention; a FARGATE /
awsvpc task definition (image by digest, port, env, secrets, awslogs, health check,
command); a FARGATE service registered in the target group, with the deployment circuit
breaker and rollback, a health-check grace period, ``wait_for_steady_state``
(``enableExecuteCommand`` with ``exec = true``), created after the listeners; and, when ``replicas.min < replicas.max``, CPU target tracking
autoscaling (an Application Auto Scaling target and policy).

All resources are pulumi-aws generated classes. The log group is imported from its own
module: it is all this target uses of ``pulumi_aws.cloudwatch``, whose package would load
its 48 modules. The Secrets Manager and Application Auto Scaling packages are loaded (by
attribute access on ``pulumi_aws``) only when the app has secrets or a replica range.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pulumi
import pulumi_aws as aws
from pulumi_aws.cloudwatch.log_group import LogGroup

from deployer.errors import EnvironmentProblem
from deployer.models import (
    ComputeResult,
    IngressResult,
    NetworkResult,
    PhaseContext,
    RegistryResult,
)
from deployer.plugins.aws_ecs import releases, secrets_policy
from deployer.plugins.aws_ecs import settings as aws_settings
from deployer.plugins.aws_ecs.address_plan import ROLLOUT_PERCENT
from deployer.plugins.aws_ecs.containers import TMP_VOLUME, container_definition, empty_secrets
from deployer.plugins.aws_ecs.limits import check_app, cpu_architecture
from deployer.plugins.aws_ecs.naming import secret_label


def execution_policy(partition: str) -> str:
    """The ARN of AWS's managed policy for ECS task execution roles in ``partition``
    (``aws``, ``aws-cn``, ``aws-us-gov``...): AWS managed policies live in every partition
    under the account ``aws``, and an ARN names its partition ("In the Beijing and Ningxia
    Regions, the Amazon Resource Name (ARN) syntax includes a cn":
    https://docs.amazonaws.cn/en_us/general/latest/gr/ARNs.html)."""
    return f"arn:{partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def trust_policy(account: str, partition: str, region: str, *, source_arn: bool) -> str:
    """The trust policy letting ECS tasks assume a role, bound to ``account``.

    ``aws:SourceAccount`` keeps another account's ECS from assuming the role (the confused
    deputy: https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html). The
    task role also gets ``aws:SourceArn`` on every ECS resource of the account and region,
    the condition the ECS docs show for task roles (a specific cluster is not supported):
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html. The
    execution role's page documents no ``aws:SourceArn``, so it gets the account only."""
    condition: dict = {"StringEquals": {"aws:SourceAccount": account}}
    if source_arn:
        condition["ArnLike"] = {"aws:SourceArn": f"arn:{partition}:ecs:{region}:{account}:*"}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Condition": condition,
                }
            ],
        }
    )


def create(
    ctx: PhaseContext, network: NetworkResult, registry: RegistryResult, ingress: IngressResult
) -> ComputeResult:
    """Create the workload; ``extra`` names the cluster, service, task definition and log
    group so the driver can export them for ``status``, ``logs`` and the health wait."""
    cfg = aws_settings.of(ctx)
    check_app(ctx.app, cfg)  # the core checked the config; specs built in code too
    app = ctx.app.name
    cluster = aws.ecs.Cluster(
        f"{app}-cluster",
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-container-insights.html
        settings=[{"name": "containerInsights", "value": "enabled" if cfg.container_insights else "disabled"}],
    )
    region = aws.get_region_output().region
    account = aws.get_caller_identity_output().account_id
    partition = aws.get_partition_output().partition
    secrets = _secrets(ctx)
    services = ctx.services.extra if ctx.services is not None else {}
    service_arns = list(services.get("secret_arns", ()))  # backing services' secrets (the RDS password)
    all_secrets = {
        **{name: value_from(secret.arn, version.version_id) for name, secret, version in secrets},
        **services.get("secrets", {}),  # the RDS password: "<its secret ARN>:password::"
    }
    execution_role, execution_grants = _execution_role(
        app,
        [secret.arn for _, secret, _ in secrets] + service_arns,
        trust=pulumi.Output.all(account, partition, region).apply(lambda v: trust_policy(*v, source_arn=False)),
        policy=partition.apply(execution_policy),
    )
    task_role = aws.iam.Role(
        f"{app}-task-role",
        assume_role_policy=pulumi.Output.all(account, partition, region).apply(
            lambda v: trust_policy(*v, source_arn=True)
        ),
        description=f"{app} task role: no permissions unless you add them",
    )
    task_grants = [_exec_grant(app, task_role)] if cfg.exec else []
    # a prefix, not a fixed name: after lost state a re-create never collides with the
    # group left behind (CreateLogGroup: ResourceAlreadyExistsException)
    logs = LogGroup(
        f"{app}-logs", name_prefix=f"/deployer/{app}/{ctx.stack}/", retention_in_days=cfg.log_retention_days
    )
    definition = fargate_task_definition(
        f"{app}-task",
        family=releases.family(ctx),
        cpu=ctx.app.cpu,
        memory=ctx.app.memory,
        architecture=cpu_architecture(cfg.architecture, ctx.image),
        execution_role_arn=execution_role.arn,
        task_role_arn=task_role.arn,
        containers=pulumi.Output.all(
            image=registry.image_ref,
            log_group=logs.name,
            region=region,
            secrets=all_secrets,
            services_env=dict(ctx.services.env) if ctx.services is not None else {},
        ).apply(lambda v: json.dumps([container_definition(ctx, **v)])),
        # the driver tags each revision as a release after its rollout (.releases.record);
        # every other change registers a new revision, so tags are never updated in place
        opts=pulumi.ResourceOptions(ignore_changes=["tags", "tagsAll"]),
    )
    replicas = ctx.app.replicas
    service = aws.ecs.Service(
        f"{app}-service",
        cluster=cluster.arn,
        task_definition=definition.arn,
        launch_type="FARGATE",
        platform_version="LATEST",
        desired_count=replicas.min,
        network_configuration={
            "subnets": list(network.extra.get("task_subnets", network.subnets)),
            "security_groups": [network.security_groups["compute"]],
            "assign_public_ip": network.extra.get("assign_public_ip", True),
        },
        load_balancers=[{"target_group_arn": ingress.attach, "container_name": app, "container_port": ctx.app.port}],
        deployment_circuit_breaker={"enable": True, "rollback": True},
        deployment_minimum_healthy_percent=100,
        deployment_maximum_percent=ROLLOUT_PERCENT,
        health_check_grace_period_seconds=cfg.health_check_grace_period,
        enable_execute_command=cfg.exec,
        propagate_tags="SERVICE",
        wait_for_steady_state=True,
        opts=pulumi.ResourceOptions(
            depends_on=[*ingress.extra.get("listeners", ()), *execution_grants, *task_grants],
            ignore_changes=["desired_count"] if replicas.autoscaling else None,
            custom_timeouts=pulumi.CustomTimeouts(create=f"{cfg.deploy_timeout}s", update=f"{cfg.deploy_timeout}s"),
        ),
    )
    if replicas.autoscaling:
        _autoscaling(app, cluster, service, replicas, cfg.autoscaling_cpu_target)
    return ComputeResult(
        service=service.name,
        replicas=replicas.min,
        extra={
            "cluster": cluster.name,
            "task_definition": definition.arn,
            "log_group": logs.name,
            "region": region,
            "cluster_arn": cluster.arn,
            "execution_role_arn": execution_role.arn,
            "task_role_arn": task_role.arn,
            "execution_grants": execution_grants,
            "secrets": all_secrets,
        },
    )


def fargate_task_definition(
    name: str,
    *,
    family: str,
    cpu: int,
    memory: int,
    architecture: pulumi.Input[str] | None,
    execution_role_arn: pulumi.Input[str],
    task_role_arn: pulumi.Input[str],
    containers: pulumi.Input[str],
    opts: pulumi.ResourceOptions | None = None,
) -> aws.ecs.TaskDefinition:
    """A FARGATE / awsvpc task definition of ``containers`` (JSON), with the task volume
    the app's container definition mounts at /tmp."""
    return aws.ecs.TaskDefinition(
        name,
        family=family,
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu=str(cpu),
        memory=str(memory),
        runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": architecture},
        execution_role_arn=execution_role_arn,
        task_role_arn=task_role_arn,
        volumes=[{"name": TMP_VOLUME}],
        container_definitions=containers,
        opts=opts,
    )


def sibling_task_definition(
    ctx: PhaseContext,
    registry: RegistryResult,
    compute: ComputeResult,
    name: str,
    *,
    family: str,
    cpu: int,
    memory: int,
    architecture: pulumi.Input[str] | None,
    definition: Callable[..., dict],
    opts: pulumi.ResourceOptions | None = None,
) -> aws.ecs.TaskDefinition:
    """Another task definition of the app's container (a worker's, the release command's),
    with the web's roles, log group, secrets and env (``compute.extra``): ``definition``
    turns :func:`.containers.container_definition`'s keywords into its one container definition."""
    extra = compute.extra
    return fargate_task_definition(
        name,
        family=family,
        cpu=cpu,
        memory=memory,
        architecture=architecture,
        execution_role_arn=extra["execution_role_arn"],
        task_role_arn=extra["task_role_arn"],
        containers=pulumi.Output.all(
            image=registry.image_ref,
            log_group=extra["log_group"],
            region=extra["region"],
            secrets=dict(extra.get("secrets", {})),
            services_env=dict(ctx.services.env) if ctx.services is not None else {},
        ).apply(lambda v: json.dumps([definition(**v)])),
        opts=opts,
    )


def value_from(arn: pulumi.Input[str], version_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The container's ``valueFrom`` for one secret, pinned to its version:
    ``<secret ARN>:<json-key>:<version-stage>:<version-id>`` with no JSON key and no stage
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html).
    A bare ARN reads AWSCURRENT when a task starts, so a new value never changed the task
    definition and ECS never rolled out; the version ID changes with the value."""
    return pulumi.Output.concat(arn, ":::", version_id)


def _secrets(ctx: PhaseContext) -> list[tuple[str, aws.secretsmanager.Secret, aws.secretsmanager.SecretVersion]]:
    """One Secrets Manager secret (and its current version) per app secret name, but the
    empty ones (:func:`.containers.empty_secrets`)."""
    result = []
    empty = empty_secrets(ctx)
    for name in (name for name in ctx.app.secrets if name not in empty):
        if name not in ctx.secrets and ctx.mode == "up":
            raise EnvironmentProblem(f"secret {name} has no value: export {name}=... before deploying")
        label = secret_label(ctx.app.name, name)
        secret = aws.secretsmanager.Secret(
            label,
            description=f"{ctx.app.name} secret {name} (managed by deployer)",
            recovery_window_in_days=0,
        )
        version = aws.secretsmanager.SecretVersion(
            f"{label}-value",
            secret_id=secret.id,
            secret_string=pulumi.Output.secret(ctx.secrets.get(name, "")),
        )
        result.append((name, secret, version))
    return result


def _execution_role(
    app: str, secret_arns: list, *, trust: pulumi.Output[str], policy: pulumi.Output[str]
) -> tuple[aws.iam.Role, list]:
    """The role ECS uses to start tasks (AWS's managed ``policy``), and the grants the
    service must wait for."""
    role = aws.iam.Role(
        f"{app}-execution-role",
        assume_role_policy=trust,
        description=f"{app}: lets ECS pull the image, write logs, read secrets",
    )
    grants = [aws.iam.RolePolicyAttachment(f"{app}-execution-policy", role=role.name, policy_arn=policy)]
    if secret_arns:
        grants.append(
            aws.iam.RolePolicy(
                f"{app}-read-secrets",
                role=role.id,
                policy=pulumi.Output.all(*secret_arns).apply(secrets_policy.document),
            )
        )
    return role, grants


EXEC_ACTIONS = (
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)
"""What the task role needs for ECS Exec: the SSM agent in the task opens its channels
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html, "IAM
permissions required for ECS Exec"; these actions take no resource ARN, so ``*``)."""


def exec_policy() -> str:
    """The task role's policy for ECS Exec (:data:`EXEC_ACTIONS`)."""
    statement = {"Effect": "Allow", "Action": list(EXEC_ACTIONS), "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _exec_grant(app: str, task_role: aws.iam.Role) -> aws.iam.RolePolicy:
    """With ``exec = true``: the task role's ECS Exec permissions, which the service waits for."""
    return aws.iam.RolePolicy(f"{app}-exec", role=task_role.id, policy=exec_policy())


def _autoscaling(app, cluster, service, replicas, cpu_target) -> None:
    target = aws.appautoscaling.Target(
        f"{app}-scaling",
        service_namespace="ecs",
        scalable_dimension="ecs:service:DesiredCount",
        resource_id=pulumi.Output.concat("service/", cluster.name, "/", service.name),
        min_capacity=replicas.min,
        max_capacity=replicas.max,
    )
    aws.appautoscaling.Policy(
        f"{app}-scale-on-cpu",
        policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        target_tracking_scaling_policy_configuration={
            "predefined_metric_specification": {"predefined_metric_type": "ECSServiceAverageCPUUtilization"},
            "target_value": float(cpu_target),
            "scale_in_cooldown": 120,
            "scale_out_cooldown": 60,
        },
    )
