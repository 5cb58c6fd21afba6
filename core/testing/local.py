"""The local target's contract on this machine's Docker engine, for plugins that replace
or wrap one of its phases::

    from deployer.testing.local import LocalContract

    class TestMyIngress(LocalContract):
        pass   # the plugin under test is found by its entry point, as for users

It implements the kit's two required hooks the way the local target sees its stack:
``leftovers`` lists the containers, networks and volumes labelled with the app and the
stack; ``remove_one_replica`` removes one replica the load balancer routes to (never a
paused standby kept for rollback, which serves nothing). Two checks of its own read the
engine directly, where the generic contract can only go through the target: how every
container of the stack is locked down, and ``status`` with the load balancer stopped.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from deployer import docker_labels
from deployer.models import Image, PhaseContext
from deployer.plugins.local_docker import engine, serving
from deployer.testing.contract import ContractRun, TargetContract, encoded_forms
from deployer.testing.ports import free_port

DOCKER_SOCKET = "docker.sock"
"""What a mount of the engine's socket is named by (``/var/run/docker.sock``): a
container holding it controls the engine, and so the host."""


class LocalContract(TargetContract):
    """:class:`~deployer.testing.TargetContract` on the local target, its stacks on a free
    loopback port each, checked every 2 s by the load balancer."""

    target = "local"
    log_moment_gap = 0.5  # lines are filtered by their own Docker timestamps (nanoseconds)

    def target_settings(self) -> dict[str, Any]:
        return {"host_port": free_port(), "health_interval": 2}

    def leftovers(self, ctx: PhaseContext) -> list[str]:
        """The containers (stopped ones too), networks and volumes labelled with the stack."""
        docker = engine.client()
        selector = engine.selector(ctx)
        return (
            [engine.name(c) for c in docker.api.containers(all=True, filters=selector)]
            + [n["Name"] for n in docker.api.networks(filters=selector)]
            + [v["Name"] for v in docker.api.volumes(filters=selector).get("Volumes") or ()]
        )

    def remove_one_replica(self, ctx: PhaseContext) -> None:
        """``docker rm -f`` one replica the load balancer routes to, as a user or the OOM
        killer might."""
        docker = engine.client()
        replica = serving.in_service(docker, ctx)[0]
        docker.api.remove_container(replica["Id"], force=True)

    def test_every_container_of_the_stack_is_locked_down(self, run: ContractRun) -> None:
        """Read from the engine (``docker inspect`` of every container labelled with the
        stack), not through the target: none is privileged, adds a capability or keeps
        one (``CapDrop`` ``ALL``), may gain privileges (``no-new-privileges``), shares the
        host's network, PID or IPC namespace, mounts the Docker socket, keeps an endless
        log (``json-file`` without ``max-size``) or holds a secret's value in a label
        (labels are readable by anyone who can list containers); every published
        port is on loopback; every replica and worker runs as a user other than root, on a
        read-only root, under the app's memory and a process limit; and exactly the
        desired replicas run (a replaced release's are gone, or paused as the standby)."""
        run.ensure_up()
        docker = engine.client()
        app = run.session().project.app
        memory: dict[str | None, int] = {None: app.memory, **{w.name: w.memory for w in app.workers}}  # by label
        forms = encoded_forms(run.secret.encode())
        problems, running = [], 0
        for row in docker.api.containers(all=True, filters=engine.selector(run.context())):
            info = docker.api.inspect_container(row["Id"])
            problems += [f"{engine.name(row)}: {problem}" for problem in _host_problems(info)]
            labels = json.dumps(info["Config"].get("Labels") or {}).encode()
            if any(form in labels for form in forms):
                problems.append(f"{engine.name(row)}: a label holds a secret's value (the env is the place for it)")
            if engine.role(row) in (engine.ROLE_REPLICA, engine.ROLE_WORKER):
                allowed = memory[row["Labels"].get(docker_labels.WORKER)]
                problems += [f"{engine.name(row)}: {problem}" for problem in _app_problems(info, allowed)]
            if engine.role(row) == engine.ROLE_REPLICA and info["State"]["Running"] and not info["State"]["Paused"]:
                running += 1
        assert not problems, "containers of the stack are not locked down:\n  " + "\n  ".join(problems)
        desired = run.status().desired
        assert running == desired, f"{running} replicas run, not the {desired} desired (a replaced release's left?)"

    def test_status_reports_a_stopped_load_balancer(self, run: ContractRun) -> None:
        """With the load balancer stopped behind the target's back (``docker stop``),
        nothing serves: ``status`` must read that from the engine and report no healthy
        replica, still deployed."""
        run.ensure_up()
        engine.client().api.stop(engine.lb_name(run.context()), timeout=1)
        try:
            status = run.status()
            assert status.deployed, status
            assert status.healthy == 0 < status.desired, (
                f"status says {status.healthy}/{status.desired} healthy with the load balancer stopped"
            )
        finally:
            run.down()  # a clean slate: healing is not part of this check


def _host_problems(info: dict[str, Any]) -> list[str]:
    """What lets the container ``info`` (``docker inspect``) reach beyond itself."""
    host = info["HostConfig"]
    problems = []
    if host.get("Privileged"):
        problems.append("privileged")
    if host.get("CapAdd"):
        problems.append(f"adds capabilities {host['CapAdd']}")
    if "ALL" not in (host.get("CapDrop") or ()):
        problems.append("keeps Docker's default capabilities (no CapDrop ALL)")
    if not any(opt in ("no-new-privileges", "no-new-privileges:true") for opt in host.get("SecurityOpt") or ()):
        problems.append("may gain privileges (no no-new-privileges)")
    for namespace in ("NetworkMode", "PidMode", "IpcMode"):
        if host.get(namespace) == "host":
            problems.append(f"shares the host's {namespace.removesuffix('Mode').lower()} namespace")
    problems += [f"mounts {m['Source']}" for m in info.get("Mounts") or () if DOCKER_SOCKET in (m.get("Source") or "")]
    log = host.get("LogConfig") or {}
    if log.get("Type") == "json-file" and not (log.get("Config") or {}).get("max-size"):
        problems.append("keeps every line it prints on disk (json-file log without max-size)")
    for port, bindings in (host.get("PortBindings") or {}).items():
        for binding in bindings or ():
            address = binding.get("HostIp") or "0.0.0.0"
            if not ipaddress.ip_address(address).is_loopback:
                problems.append(f"publishes {port} on {address}, not on loopback")
    return problems


def _app_problems(info: dict[str, Any], memory: int) -> list[str]:
    """What the app container ``info`` (a replica, a worker) lacks of its hardening."""
    host, user = info["HostConfig"], info["Config"].get("User") or ""
    problems = []
    if Image("", "", user=user).runs_as_root:  # a name with ID 0: the generic probe's id
        problems.append(f"runs as root (user {user!r})")
    if not host.get("ReadonlyRootfs"):
        problems.append("has a writable root filesystem")
    if host.get("Memory") != memory * 2**20:
        problems.append(f"memory limit {host.get('Memory')} bytes, not the app's {memory} MiB")
    if not (host.get("PidsLimit") or 0) > 0:
        problems.append("has no process limit")
    return problems
