"""``deployer exec`` on aws-ecs: ECS Exec, handed to the Session Manager plugin.

ECS Exec (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html) needs
``enableExecuteCommand`` on the service (tasks started before it was set cannot be
reached) and the task role's ``ssmmessages`` permissions: ``exec = true`` under
``[targets.aws-ecs]`` adds both (:mod:`.compute`). The client side needs the Session
Manager plugin, which the AWS CLI also runs for ``aws ecs execute-command``:
:func:`start` calls ``ExecuteCommand`` (interactive: the only mode ECS offers) and runs
``session-manager-plugin`` with the same arguments the AWS CLI passes (the session JSON,
the region, ``StartSession``, the profile, the target ``ecs:<cluster>_<task id>_<runtime
id>`` as JSON, and the ECS endpoint), returning the plugin's exit code.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

from deployer.errors import ConfigError, EnvironmentProblem, UsageError

PLUGIN = "session-manager-plugin"
PLUGIN_INSTALL = (
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html"
)


def require_enabled(enabled: bool, service_enabled: bool | None) -> None:
    """:class:`ConfigError` (exit 2) unless ``exec = true`` is set (``enabled``) and the
    deployed service has it (``service_enabled``; None when the service does not say)."""
    if not enabled:
        raise ConfigError(
            "targets.aws-ecs.exec",
            "is false: deployer exec on aws-ecs uses ECS Exec; set exec = true under [targets.aws-ecs] "
            "and run `deployer up --target aws-ecs` (it enables ECS Exec on the service and lets its tasks "
            "open the Session Manager channels)",
        )
    if service_enabled is False:
        raise UsageError(
            "exec = true is set but the deployed service does not have ECS Exec enabled yet: "
            "run `deployer up --target aws-ecs` first (tasks started before cannot be reached)"
        )


def require_plugin(which: Callable[[str], str | None] = shutil.which) -> str:
    """The Session Manager plugin's path; :class:`EnvironmentProblem` (exit 2) saying how to
    install it when it is not on PATH."""
    found = which(PLUGIN)
    if found is None:
        raise EnvironmentProblem(
            f"deployer exec on aws-ecs needs the Session Manager plugin ({PLUGIN}) on PATH, as "
            f"`aws ecs execute-command` does; install it ({PLUGIN_INSTALL}), then retry"
        )
    return found


def replica_task(ecs: Any, cluster: str, service: str, replica: int | None) -> dict[str, Any]:
    """The RUNNING task of ``service`` that is replica ``replica`` (1-based, oldest first;
    None for the first). ECS names a service's tasks' group ``service:<name>``."""
    arns = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="RUNNING").get("taskArns", [])
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
    running = sorted(
        (t for t in tasks if t.get("group") == f"service:{service}" and t.get("lastStatus") == "RUNNING"),
        key=lambda t: (str(t.get("startedAt", "")), t["taskArn"]),
    )
    if not running:
        raise UsageError(f"no task of service {service} is running: run `deployer up --target aws-ecs` first")
    index = (replica or 1) - 1
    if index >= len(running):
        raise UsageError(f"--replica: {replica} is not running; {len(running)} replica(s) run (1 to {len(running)})")
    return running[index]


def exec_in_service(
    ecs: Any,
    outputs: dict[str, Any],
    *,
    plugin: str,
    container: str,
    command: Sequence[str],
    replica: int | None,
    region: str,
    profile: str | None,
    call: Callable[[list[str]], int] = subprocess.call,
) -> int:
    """ECS Exec into replica ``replica`` of the stack's service (the deployed stack's ``outputs``),
    once the service says ECS Exec is on; return the plugin's exit code."""
    cluster, service = outputs["cluster"], outputs["service"]
    found = ecs.describe_services(cluster=cluster, services=[service])["services"]
    require_enabled(True, found[0].get("enableExecuteCommand") if found else None)
    return start(
        ecs,
        plugin=plugin,
        cluster=cluster,
        task=replica_task(ecs, cluster, service, replica),
        container=container,
        command=command,
        region=region,
        profile=profile,
        call=call,
    )


def start(
    ecs: Any,
    *,
    plugin: str,
    cluster: str,
    task: dict[str, Any],
    container: str,
    command: Sequence[str],
    region: str,
    profile: str | None,
    call: Callable[[list[str]], int] = subprocess.call,
) -> int:
    """Open an ECS Exec session running ``command`` in ``container`` of ``task`` and hand it
    to the Session Manager plugin; return the plugin's exit code."""
    answer = ecs.execute_command(
        cluster=cluster, task=task["taskArn"], container=container, command=shlex.join(command), interactive=True
    )
    runtime = next((c.get("runtimeId", "") for c in task.get("containers", ()) if c.get("name") == container), "")
    cluster_name = cluster.rsplit("/", 1)[-1]
    target = {"Target": f"ecs:{cluster_name}_{task['taskArn'].rsplit('/', 1)[-1]}_{runtime}"}
    return call(
        [
            plugin,
            json.dumps(answer["session"]),
            region,
            "StartSession",
            profile or "",
            json.dumps(target),
            ecs.meta.endpoint_url,
        ]
    )
