"""One-off containers of the app's image: the release command and ``deployer run``.

A one-off container joins the app's network with the env a replica gets (the app's
env, its secrets, the backing services' env, ``PORT``), is hardened like a replica,
labelled with the role ``one-off``, and removed when its command ends.

- **release command** (:func:`release`): runs once per deploy that changes the replicas,
  with the new image, after the database is ready and before the new version gets
  traffic. A non-zero exit is :class:`~deployer.errors.DeployFailed` carrying its output;
  the load balancer was not touched, so the old version keeps serving.
- **run** (:func:`run`): the image and env of the replicas the load balancer routes to
  (read back from the newest of them, so it is what is deployed and serves), output
  streamed, exit code returned.
"""

from __future__ import annotations

import contextlib
import secrets
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from deployer import docker_labels
from deployer.docker_engine import REQUEST_TIMEOUT, STREAM_TIMEOUT, DockerEngine, config_env
from deployer.errors import DeployFailed, UsageError
from deployer.models import PhaseContext
from deployer.plugins.local_docker import engine, serving
from deployer.plugins.local_docker.settings import of

_OUTPUT_LINES = 40


def workload_env(ctx: PhaseContext) -> dict[str, str]:
    """The env every workload of the app gets (values are secret)."""
    services = ctx.services.env if ctx.services is not None else {}
    return {**ctx.app.env, **services, **ctx.secrets, "PORT": str(ctx.app.port)}


def _run(
    docker: DockerEngine,
    ctx: PhaseContext,
    *,
    image: str,
    command: Sequence[str],
    env: Mapping[str, str],
    network: str,
    purpose: str,
    output: Callable[[bytes, bool], None],
) -> int:
    settings = of(ctx)
    container = f"{engine.prefix(ctx)}-{purpose}-{secrets.token_hex(3)}"
    host_config = engine.hardened_host_config(docker, settings, memory=ctx.app.memory)
    created = docker.api.create_container(
        image,
        name=container,
        command=list(command),
        environment=dict(env),
        labels=engine.labels(ctx, engine.ROLE_ONEOFF, **{docker_labels.COMMAND_SET: "true"}),
        host_config=host_config,
        networking_config=docker.api.create_networking_config({network: docker.api.create_endpoint_config()}),
    )
    try:
        # Attached before it starts (as `docker run` does), so a command that ends at once
        # still closes the stream: attaching to a container that already exited can wait forever.
        # its output may pause for minutes (a migration): a silence of STREAM_TIMEOUT is the engine's
        frames = docker.patient(STREAM_TIMEOUT).attach(created["Id"], stream=True, logs=True, demux=True)
        docker.api.start(created["Id"])
        for out, err in docker.watched(lambda: frames):  # a silent command: the engine is pinged
            if out:
                output(out, False)
            if err:
                output(err, True)
        code: int = docker.api.wait(created["Id"], timeout=REQUEST_TIMEOUT)["StatusCode"]
        return code
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker.api.remove_container(created["Id"], v=True, force=True)


def release(ctx: PhaseContext, image: str, network: str) -> None:
    """Run ``ctx.app.release_command`` once with ``image``; raise on a non-zero exit."""
    command = ctx.app.release_command
    if not command:
        return
    docker = engine.client()
    ctx.report(f"release command: {shlex.join(command)}")
    captured = bytearray()

    def output(data: bytes, err: bool) -> None:
        captured.extend(data)

    code = _run(
        docker,
        ctx,
        image=image,
        command=command,
        env=workload_env(ctx),
        network=network,
        purpose="release",
        output=output,
    )
    lines = ctx.hide_secrets(bytes(captured).decode(errors="replace")).splitlines()
    for line in lines[-_OUTPUT_LINES:]:
        ctx.report(f"  release | {line}")
    if code != 0:
        shown = "\n".join(f"  | {line}" for line in lines[-_OUTPUT_LINES:]) or "  | (no output)"
        raise DeployFailed(
            f"the release command ({shlex.join(command)}) exited with {code}:\n{shown}\n"
            "The new version was not started; the previous version, if any, keeps serving."
        )


def run(ctx: PhaseContext, command: Sequence[str]) -> int:
    """Run ``command`` in a one-off container like the newest running replica the load
    balancer routes to (:func:`.serving.in_service`); stream its output to this process's
    stdout and stderr and return its exit code."""
    docker = engine.client()
    running = serving.in_service(docker, ctx)
    newest = max(running, key=lambda r: r["Created"])
    info: dict[str, Any] | None = docker.container(newest["Id"])
    if info is None:
        raise UsageError("the replica to copy was removed meanwhile; run the command again")
    env = config_env(info["Config"])
    network = next(iter(info["NetworkSettings"]["Networks"]), engine.prefix(ctx))

    def output(data: bytes, err: bool) -> None:
        stream = sys.stderr if err else sys.stdout
        stream.buffer.write(data)
        stream.flush()

    return _run(
        docker, ctx, image=info["Image"], command=command, env=env, network=network, purpose="run", output=output
    )
