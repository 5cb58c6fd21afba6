"""aws-ecs workers: one ECS service per ``[workers.<name>]``, without a load balancer.

Each worker gets a FARGATE / awsvpc task definition of the same image, env, secrets and
database as the app (its own command, cpu and memory, no port mapping, no HTTP health
check) in the app's cluster, roles and log group (stream prefix ``worker-<name>``), and a
FARGATE service in the tasks' subnets and security group with the deployment circuit
breaker and rollback, and no ``load_balancers``.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
from attrs import evolve

from deployer.models import ComputeResult, IngressResult, NetworkResult, PhaseContext, RegistryResult
from deployer.plugins.aws_ecs import compute as web
from deployer.plugins.aws_ecs import release_task
from deployer.plugins.aws_ecs import settings as aws_settings
from deployer.plugins.aws_ecs.address_plan import ROLLOUT_PERCENT
from deployer.plugins.aws_ecs.compute import sibling_task_definition
from deployer.plugins.aws_ecs.containers import worker_definition, worker_family
from deployer.plugins.aws_ecs.limits import cpu_architecture
from deployer.services import WorkerSpec


def compute_phase(
    ctx: PhaseContext, network: NetworkResult, registry: RegistryResult, ingress: IngressResult
) -> ComputeResult:
    """The aws-ecs compute phase: the web service (:mod:`.compute`), then the workers,
    whose ECS service names it adds as ``extra["workers"]`` (worker name to service name),
    and the release command's task definition (:mod:`.release_task`), exported as
    ``extra["release_task_definition"]``."""
    result = web.create(ctx, network, registry, ingress)
    services = create(ctx, network, registry, result)
    named = {worker.name: service.name for worker, service in zip(ctx.app.workers, services, strict=True)}
    extra = {**result.extra, "workers": named}
    release = release_task.create(ctx, registry, result)
    if release is not None:
        extra["release_task_definition"] = release.arn
    return evolve(result, extra=extra)


def create(ctx: PhaseContext, network: NetworkResult, registry: RegistryResult, compute: ComputeResult) -> list:
    """The workers' services (empty when the app has none)."""
    cfg = aws_settings.of(ctx)
    return [_service(ctx, cfg, worker, network, registry, compute) for worker in ctx.app.workers]


def _service(ctx, cfg, worker: WorkerSpec, network, registry, compute):
    app = ctx.app.name
    extra = compute.extra
    definition = sibling_task_definition(
        ctx,
        registry,
        compute,
        f"{app}-worker-{worker.name}-task",
        family=worker_family(ctx, worker),
        cpu=worker.cpu,
        memory=worker.memory,
        architecture=cpu_architecture(cfg.architecture, ctx.image),
        definition=lambda **values: worker_definition(ctx, worker, **values),
    )
    return aws.ecs.Service(
        f"{app}-worker-{worker.name}",
        cluster=extra["cluster_arn"],
        task_definition=definition.arn,
        launch_type="FARGATE",
        platform_version="LATEST",
        desired_count=worker.replicas,
        network_configuration={
            "subnets": list(network.extra.get("task_subnets", network.subnets)),
            "security_groups": [network.security_groups["compute"]],
            "assign_public_ip": network.extra.get("assign_public_ip", True),
        },
        deployment_circuit_breaker={"enable": True, "rollback": True},
        deployment_minimum_healthy_percent=100,
        deployment_maximum_percent=ROLLOUT_PERCENT,
        propagate_tags="SERVICE",
        wait_for_steady_state=True,
        opts=pulumi.ResourceOptions(
            depends_on=list(extra.get("execution_grants", ())),
            custom_timeouts=pulumi.CustomTimeouts(create=f"{cfg.deploy_timeout}s", update=f"{cfg.deploy_timeout}s"),
        ),
    )
