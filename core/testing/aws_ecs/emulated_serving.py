"""Service tasks that really run: the emulated ECS scheduler on the local Docker engine.

Opt-in (:func:`serving`, entered by the aws-ecs contract kit's ``environment``): while it
is active, the emulated scheduler (:mod:`.moto_appliers`) runs each service task's
container on the local engine, long-running, as ECS would start it (the image the ECR
digest was pushed from, the definition's environment, its secrets read back from moto,
its user, every capability dropped, a read-only root filesystem with ``/tmp`` writable
when the definition asks, its command), on one user-defined bridge network per stack,
labelled :data:`LABEL` ``<app>/<stack>``. Each moto task (its fake ``privateIPv4Address``,
the target registered in moto) maps to its container. Without it, nothing runs: moto
alone, as the other emulated tests want (no Docker, fast).

What it does, as ECS and the ALB do, in compressed time (no fixed sleeps, short polls):

- **The ALB** is :class:`.emulated_balancer.Balancer` on loopback; the driver returns
  its URL as the endpoint ("the emulated ALB answers on loopback"). The stack's outputs
  in state keep the real load balancer's DNS name.
- **Rolling update.** The emulator replaces a service whose revision changes (moto has no
  deployments to speak of); the old service's containers are *retired*, not stopped,
  and keep serving. The new revision's containers start (all at once: the program's
  ``maximumPercent`` is 200), each is health-checked on the target group's path and
  matcher until it answers (healthy after one passing check, as on the ALB) or fails
  ``UnhealthyThresholdCount`` checks in a row or exits (unhealthy), every :data:`POLL`
  seconds rather than every interval; the healthy ones are registered in the balancer
  (which keeps health-checking them) and in moto,
  then the retired ones are deregistered, drained (requests in flight finish, within
  the deregistration delay) and stopped.
- **Circuit breaker.** When the new revision's tasks are unhealthy, they are stopped
  (``Task failed ELB health checks``) and the service goes back to the previous revision
  with the retired containers, whose moto tasks are re-run and re-registered; the new
  deployment is marked ``FAILED`` in moto, so the production wait reads the rollback
  (``describe_services`` deployments). A first deployment that fails has no previous
  revision: its deployment is FAILED and nothing serves.
- **Logs.** Each container's output goes to moto's CloudWatch Logs stream
  ``<prefix>/<container>/<task id>`` with each line's own time (``docker logs`` with
  timestamps), shipped incrementally by :meth:`Serving.ship_logs` (before the driver
  reads logs, and before a container is removed).
- **Database.** An RDS instance gets a Postgres container (the image the local target
  would run, :meth:`Serving.prepare`) on the stack's network under the instance's endpoint address (a network
  alias), with the master password the instance's managed secret holds; its create
  returns once Postgres accepts connections, as RDS's returns once the instance is
  available (tasks never start before their database answers).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from attrs import define, field

from deployer import docker_engine
from deployer.models import PhaseContext
from deployer.plugins.local_docker import database as local_database
from deployer.plugins.local_docker.engine import tar
from deployer.testing.aws_ecs.emulated_balancer import Balancer, HealthCheck, health_status, matches
from deployer.testing.aws_ecs.emulated_logs import ship_new_lines
from deployer.testing.aws_ecs.moto_appliers import quiet_botocore
from deployer.testing.aws_ecs.task_containers import NotStarted, environment, local_image, log_stream, mark_stopped

LABEL = "deployer.emulated-ecs"
"""Label of every container and network the emulator runs; value ``<app>/<stack>``."""

START_TIMEOUT = 60
"""Seconds a new task's container may take to answer its first health check."""

POLL = 0.1
"""Seconds between two health checks of a starting task (compressed time)."""

STOP_TIMEOUT = 0
"""Seconds a stopped container gets after SIGTERM before SIGKILL (ECS's ``stopTimeout``
default is 30). Compressed to none: a task is stopped only once it is drained (no request
in flight), and the sample app's web process, PID 1, ignores SIGTERM anyway."""

DATABASE_DATA = "/var/lib/postgresql/data"
DATABASE_PASSWORD = "/run/emulated-rds-password"
"""Where the database container reads its master password (``POSTGRES_PASSWORD_FILE``)."""


@define
class Task:
    """One service task: its moto ARN and fake IP, its container, where it answers."""

    arn: str
    ip: str
    service: str
    task_definition: str
    container: str
    definition: dict[str, Any]
    address: tuple[str, int] | None = None
    shipped: int = 0


@define
class Stack:
    """What runs for one app and stack: network, balancer, tasks, retired tasks."""

    label: str
    network: str
    balancer: Balancer | None = None
    tasks: dict[str, Task] = field(factory=dict)
    retired: dict[str, list[Task]] = field(factory=dict)
    database: str | None = None


@define
class Rollout:
    """How a service's start ended: ``failed`` empty when its new tasks serve, else why
    (the circuit breaker's reason), with the ``previous`` revision to go back to."""

    failed: str = ""
    previous: str | None = None


def _serving_task(stack: Stack, number: int = 1) -> Task:
    """The ``number``-th (1-based) of ``stack``'s web tasks that answer (have an address)."""
    return [t for t in stack.tasks.values() if t.address is not None][number - 1]


_ACTIVE: list[Serving] = []


def active() -> Serving | None:
    """The scheduler in effect (:func:`serving`), or None: moto alone."""
    return _ACTIVE[-1] if _ACTIVE else None


@contextlib.contextmanager
def serving() -> Iterator[Serving]:
    """Run service tasks on the local engine inside the block; on leaving, remove every
    container, network and balancer it still holds."""
    scheduler = Serving()
    _ACTIVE.append(scheduler)
    try:
        yield scheduler
    finally:
        _ACTIVE.remove(scheduler)
        for app, stack in list(scheduler.stacks):
            scheduler.close(None, app, stack)


def _identity(aws: Any) -> tuple[str, str]:
    return aws.tags["deployer-app"], aws.tags["deployer-stack"]


class Serving:
    """The emulated scheduler's runtime (see the module docstring)."""

    def __init__(self) -> None:
        self.stacks: dict[tuple[str, str], Stack] = {}
        self.database_image: str | None = None

    def prepare(self, ctx: PhaseContext) -> None:
        """Before an ``up`` with a ``[database]``: the Postgres image its container runs,
        picked as the local target picks it (:func:`deployer.plugins.local_docker.database.image`:
        the official ``postgres:<version>`` when present or pullable, else the stand-in
        built once per machine, which takes the official image's variables)."""
        if ctx.app.database is not None and self.database_image is None:
            self.database_image, _ = local_database.image(docker_engine.connect(), ctx, ctx.app.database, build=True)

    # --- stacks -----------------------------------------------------------------------

    def _stack(self, aws: Any) -> Stack:
        app, stack = _identity(aws)
        found = self.stacks.get((app, stack))
        if found is None:
            label = f"{app}/{stack}"
            network = f"deployer-emulated-{app}-{stack}"
            docker_engine.connect().api.create_network(network, driver="bridge", labels={LABEL: label})
            found = self.stacks[(app, stack)] = Stack(label=label, network=network)
        return found

    def endpoint(self, app: str, stack: str) -> str | None:
        """The loopback URL of the stack's emulated ALB, None when nothing serves it."""
        found = self.stacks.get((app, stack))
        return found.balancer.endpoint if found and found.balancer else None

    def close(self, aws: Any, app: str, stack: str) -> None:
        """Remove all the stack runs: containers (their logs shipped first when ``aws``),
        database, balancer, network."""
        found = self.stacks.pop((app, stack), None)
        if found is None:
            return
        everything = [*found.tasks.values(), *(t for tasks in found.retired.values() for t in tasks)]
        if aws is not None:
            for task in everything:
                self._ship(aws, task)
        _remove_all([task.container for task in everything] + ([found.database] if found.database else []))
        if found.balancer:
            found.balancer.close()
        with contextlib.suppress(Exception):
            docker_engine.connect().api.remove_network(found.network)

    def leftovers(self, app: str, stack: str) -> list[str]:
        """Containers and networks on the engine labelled for the app and stack, and the
        stack's balancer if still open."""
        engine = docker_engine.connect()
        wanted = {"label": [f"{LABEL}={app}/{stack}"]}
        left = [f"container {c['Names'][0].lstrip('/')}" for c in engine.api.containers(all=True, filters=wanted)]
        left += [f"network {n['Name']}" for n in engine.api.networks(filters=wanted)]
        found = self.stacks.get((app, stack))
        if found is not None and found.balancer is not None:
            left.append(f"emulated ALB {found.balancer.endpoint}")
        return left

    # --- services ---------------------------------------------------------------------

    def retire(self, aws: Any, service: str) -> None:
        """The service is being replaced or deleted: its containers keep running (and
        serving) until :meth:`start` replaces them or :meth:`settle` stops them. They are
        kept by task definition family: a replacement has another name (Pulumi's
        autoname), the same family."""
        found = self.stacks.get(_identity(aws))
        if found is None:
            return
        mine = [t for t in found.tasks.values() if t.service == service]
        for task in mine:
            del found.tasks[task.arn]
            found.retired.setdefault(family(task.task_definition), []).append(task)

    def start(
        self,
        aws: Any,
        cluster: str,
        service: str,
        task_definition: str,
        moto_tasks: Sequence[Mapping[str, Any]],
        balancers: Sequence[dict],
    ) -> Rollout:
        """Run the service's new tasks of ``task_definition`` and roll over to them from
        the retired ones of its family (see the module docstring); ``moto_tasks`` are the
        RUNNING tasks moto started (``describe_tasks``)."""
        stack = self._stack(aws)
        group = balancers[0]["targetGroupArn"] if balancers else None
        new = [self._run(aws, stack, cluster, service, task, group) for task in moto_tasks]
        started = [t for t in new if t is not None]
        failed = "" if len(started) == len(moto_tasks) else "tasks failed to start"
        if group is not None and started and not failed:
            failed = self._wait_healthy(aws, started, group)
        old = stack.retired.pop(family(task_definition), [])
        if failed:
            region = aws.ecs.meta.region_name
            reason = f"Task failed ELB health checks in (target-group {group})" if group else failed
            for task in started:
                self._ship(aws, task)
                mark_stopped(region, cluster, task.arn, None, reason, "ServiceSchedulerInitiated")
            _remove_all([task.container for task in started])
            stack.retired[family(task_definition)] = old  # the previous revision keeps serving
            return Rollout(f"ECS deployment circuit breaker: {failed}.", old[0].task_definition if old else None)
        for task in started:
            stack.tasks[task.arn] = task
            if group is not None and task.address is not None:
                self._balancer(aws, stack, group).register(task.ip, task.address)
        self._drain(aws, stack, old, group)
        return Rollout()

    def adopt(self, aws: Any, service: str, moto_tasks: Sequence[Mapping[str, Any]], group: str | None) -> list[Task]:
        """After a rollback: the retired containers of the ``moto_tasks``' family serve
        ``service`` again, as those re-run tasks (same order), under their new IPs."""
        stack = self._stack(aws)
        old = stack.retired.pop(family(moto_tasks[0]["taskDefinitionArn"]), []) if moto_tasks else []
        adopted = []
        for task, moto_task in zip(old, moto_tasks, strict=False):
            if stack.balancer is not None:
                stack.balancer.deregister(task.ip, delay=0)
            task.arn, task.ip, task.service = moto_task["taskArn"], _ip(moto_task), service
            stack.tasks[task.arn] = task
            if group is not None and task.address is not None:
                self._balancer(aws, stack, group).register(task.ip, task.address)
            adopted.append(task)
        return adopted

    def settle(self, aws: Any) -> None:
        """Stop what is still retired after an ``up``: services no longer declared."""
        stack = self.stacks.get(_identity(aws))
        if stack is None:
            return
        for service in list(stack.retired):
            self._drain(aws, stack, stack.retired.pop(service), None)

    def remove_one(self, aws: Any, cluster: str, group: str) -> str:
        """Stop one of the web service's tasks behind the driver's back, as a crashed task
        ends in ECS: its container removed, its target deregistered, its moto task
        STOPPED. Returns the task's ARN."""
        stack = self._stack(aws)
        task = _serving_task(stack)
        assert task.address is not None
        del stack.tasks[task.arn]
        if stack.balancer is not None:
            stack.balancer.deregister(task.ip, delay=0)
        self._ship(aws, task)
        _remove_all([task.container])
        aws.elbv2.deregister_targets(TargetGroupArn=group, Targets=[{"Id": task.ip, "Port": task.address[1]}])
        region = aws.ecs.meta.region_name
        mark_stopped(region, cluster, task.arn, 137, "Essential container in task exited", "EssentialContainerExited")
        return task.arn

    def run_in_task(self, aws: Any, command: list[str], number: int = 1) -> tuple[int, str]:
        """Run ``command`` in the container of the web service's ``number``-th task (1-based),
        as ECS Exec would in the task: its exit code and output."""
        task = _serving_task(self._stack(aws), number)
        api = docker_engine.connect().api
        exec_id = api.exec_create(task.container, command)["Id"]
        output = api.exec_start(exec_id).decode(errors="replace")
        return int(api.exec_inspect(exec_id)["ExitCode"]), output

    def ship_logs(self, aws: Any) -> None:
        """Ship every running container's new output lines to CloudWatch Logs."""
        stack = self.stacks.get(_identity(aws))
        if stack is None:
            return
        for task in [*stack.tasks.values(), *(t for tasks in stack.retired.values() for t in tasks)]:
            self._ship(aws, task)

    # --- database ---------------------------------------------------------------------

    def start_database(self, aws: Any, address: str, secret_arn: str, database: str) -> None:
        """A Postgres container reachable as ``address`` (port 5432) on the stack's
        network, its master user and password those of the instance's managed secret, its
        data on a tmpfs (thrown away with the container, as the kit's database is).
        Returns once it accepts connections, as RDS's create returns once the instance
        is available."""
        stack = self._stack(aws)
        engine = docker_engine.connect()
        api = engine.api
        with quiet_botocore():  # its DEBUG log prints the password
            secret = json.loads(aws.secretsmanager.get_secret_value(SecretId=secret_arn)["SecretString"])
        if self.database_image is None:
            raise NotStarted("the emulator has no Postgres image: Serving.prepare runs before up")
        created = api.create_container(
            self.database_image,
            name=f"{stack.network}-database",
            user="postgres",
            environment={
                "PGDATA": f"{DATABASE_DATA}/pgdata",
                "POSTGRES_USER": secret["username"],
                "POSTGRES_DB": database,
                "POSTGRES_PASSWORD_FILE": DATABASE_PASSWORD,
            },
            labels={LABEL: stack.label},
            host_config=api.create_host_config(
                cap_drop=["ALL"], security_opt=["no-new-privileges"], tmpfs={DATABASE_DATA: "size=256m,mode=1777"}
            ),
            networking_config=api.create_networking_config(
                {stack.network: api.create_endpoint_config(aliases=[address])}
            ),
        )
        stack.database = created["Id"]  # removed with the stack from now on, even if it cannot start
        api.put_archive(created["Id"], "/", tar({DATABASE_PASSWORD.lstrip("/"): secret["password"]}, mode=0o444))
        api.start(created["Id"])
        _wait_accepting(engine, created["Id"], secret["username"], database)

    def stop_database(self, aws: Any) -> None:
        stack = self.stacks.get(_identity(aws))
        if stack is not None and stack.database:
            _remove_all([stack.database])
            stack.database = None

    # --- one task ---------------------------------------------------------------------

    def _balancer(self, aws: Any, stack: Stack, group: str) -> Balancer:
        """The stack's emulated ALB, health-checking as ``group`` says (made on first use)."""
        if stack.balancer is None:
            stack.balancer = Balancer(health_check(aws, group))
        return stack.balancer

    def _run(
        self, aws: Any, stack: Stack, cluster: str, service: str, moto_task: Mapping[str, Any], group: str | None
    ) -> Task | None:
        """Start one task's container; None (moto's task STOPPED with ECS's reason) when
        it cannot start."""
        arn = moto_task["taskArn"]
        definition = aws.ecs.describe_task_definition(taskDefinition=moto_task["taskDefinitionArn"])["taskDefinition"]
        container = definition["containerDefinitions"][0]
        try:
            image = local_image(aws, container["image"])
            env = environment(aws, container)
        except NotStarted as reason:
            mark_stopped(aws.ecs.meta.region_name, cluster, arn, None, str(reason), "TaskFailedToStart")
            return None
        ports = [m["containerPort"] for m in container.get("portMappings", ())] if group else []
        api = docker_engine.connect().api
        created = api.create_container(
            image,
            name=f"{stack.network}-{service}-{arn.rsplit('/', 1)[-1][:8]}",
            command=container.get("command"),
            environment=env,
            user=container.get("user") or "",
            ports=ports,
            labels={LABEL: stack.label},
            host_config=api.create_host_config(
                mem_limit=f"{definition['memory']}m",  # Fargate: the task's memory is its cgroup's limit
                cap_drop=["ALL"],
                read_only=bool(container.get("readonlyRootFilesystem")),
                tmpfs={"/tmp": "size=64m"},
                port_bindings=dict.fromkeys(ports, ("127.0.0.1", None)),
            ),
            networking_config=api.create_networking_config({stack.network: api.create_endpoint_config()}),
        )
        api.start(created["Id"])
        address = None
        if ports:
            published = api.port(created["Id"], ports[0])
            address = ("127.0.0.1", int(published[0]["HostPort"]))
        return Task(arn, _ip(moto_task), service, moto_task["taskDefinitionArn"], created["Id"], container, address)

    def _wait_healthy(self, aws: Any, tasks: list[Task], group: str) -> str:
        """Health-check ``tasks`` on the target group's path and matcher until each answers
        (""), or one fails ``UnhealthyThresholdCount`` checks in a row, exits, or does
        not answer within :data:`START_TIMEOUT` (the reason)."""
        check = health_check(aws, group)
        failures = dict.fromkeys((t.arn for t in tasks), 0)
        waiting = {t.arn: t for t in tasks}
        deadline = time.monotonic() + START_TIMEOUT
        api = docker_engine.connect().api
        while waiting:
            for task in list(waiting.values()):
                assert task.address is not None
                status = health_status(task.address, check.path)
                if status is not None and matches(status, check.matcher):
                    del waiting[task.arn]
                elif status is not None:
                    failures[task.arn] += 1
                    if failures[task.arn] >= check.unhealthy_threshold:
                        return f"health checks failed with these codes: [{status}]"
                elif not api.inspect_container(task.container)["State"]["Running"]:
                    return "essential container in task exited"
            if waiting and time.monotonic() > deadline:
                return f"no answer on {check.path} within {START_TIMEOUT} s"
            if waiting:
                time.sleep(POLL)
        return ""

    def _drain(self, aws: Any, stack: Stack, old: list[Task], group: str | None) -> None:
        """Deregister ``old`` from the balancer, let their requests finish within the
        deregistration delay, ship their logs and remove their containers."""
        delay = _deregistration_delay(aws, group) if group else 0.0
        for task in old:
            if stack.balancer is not None:
                stack.balancer.deregister(task.ip, delay=delay)
        for task in old:
            self._ship(aws, task)
        _remove_all([task.container for task in old])

    def _ship(self, aws: Any, task: Task) -> None:
        """Ship the container's lines after the ``shipped`` ones to its awslogs stream."""
        stream = log_stream(task.definition, task.arn)
        if stream is not None:
            task.shipped = ship_new_lines(aws, task.container, stream, task.shipped)


def family(task_definition: str) -> str:
    """The family of a task definition ARN (``...:task-definition/<family>:<revision>``)."""
    return task_definition.rsplit("/", 1)[-1].rsplit(":", 1)[0]


def _ip(moto_task: Mapping[str, Any]) -> str:
    """The task's ``privateIPv4Address`` (moto's ENI)."""
    for attachment in moto_task.get("attachments", ()):
        for detail in attachment["details"]:
            if detail["name"] == "privateIPv4Address":
                return str(detail["value"])
    return str(moto_task["taskArn"])


def health_check(aws: Any, group: str) -> HealthCheck:
    """The target group's health check settings, read from moto."""
    (config,) = aws.elbv2.describe_target_groups(TargetGroupArns=[group])["TargetGroups"]
    return HealthCheck(
        path=config.get("HealthCheckPath", "/"),
        matcher=config.get("Matcher", {}).get("HttpCode", "200"),
        interval=float(config.get("HealthCheckIntervalSeconds", 30)),
        unhealthy_threshold=int(config.get("UnhealthyThresholdCount", 2)),
        healthy_threshold=int(config.get("HealthyThresholdCount", 5)),
    )


def _deregistration_delay(aws: Any, group: str) -> float:
    attributes = aws.elbv2.describe_target_group_attributes(TargetGroupArn=group)["Attributes"]
    found = {a["Key"]: a["Value"] for a in attributes}
    return float(found.get("deregistration_delay.timeout_seconds", 300))


DATABASE_POLL = 0.25
"""Seconds between two readiness checks of a starting database container."""


def _wait_accepting(engine: docker_engine.DockerEngine, container: str, user: str, database: str) -> None:
    """Return once Postgres in ``container`` accepts connections (the local target's
    :func:`~deployer.plugins.local_docker.database.ready_command`), as RDS's create
    returns once the instance is available, so that no task starts before its database
    answers; at most the local target's :data:`~deployer.plugins.local_docker.database.READY_TIMEOUT`
    seconds.

    :raises RuntimeError: the container stopped, or was not ready in time (its last log
        lines in the message).
    """
    api = engine.api
    command = local_database.ready_command(user, database)
    deadline = time.monotonic() + local_database.READY_TIMEOUT
    while True:
        try:
            exec_id = api.exec_create(container, command)["Id"]
            api.exec_start(exec_id)
            if api.exec_inspect(exec_id)["ExitCode"] == 0:
                return
        except engine.errors.APIError:  # it stopped (409) between two checks: said below
            pass
        running = api.inspect_container(container)["State"]["Running"]
        if not running or time.monotonic() > deadline:
            logs = api.logs(container, tail=20).decode(errors="replace").strip() or "(no output)"
            what = "stopped" if not running else f"was not ready within {local_database.READY_TIMEOUT} s"
            raise RuntimeError(
                f"the emulated RDS instance's Postgres container {what} (pg_isready); its last log lines:\n{logs}"
            )
        time.sleep(DATABASE_POLL)


def _remove_all(containers: Sequence[str]) -> None:
    """Stop (SIGTERM, :data:`STOP_TIMEOUT`, SIGKILL) and remove ``containers``, in parallel;
    one already gone is fine."""
    api = docker_engine.connect().api

    def remove(container: str) -> None:
        with contextlib.suppress(Exception):
            api.stop(container, timeout=STOP_TIMEOUT)
        with contextlib.suppress(Exception):
            api.remove_container(container, force=True)

    with ThreadPoolExecutor(max_workers=max(1, len(containers))) as pool:
        list(pool.map(remove, containers))
