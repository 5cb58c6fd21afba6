"""`deployer up` when the Docker engine fails mid-rollout (through an
:class:`~deployer.testing.engine_proxy.EngineProxy`, never by stopping the shared daemon):
a stalled engine ends the run in bounded time, Ctrl-C ends it at once, a closed connection
is named; each is one line, the previous version keeps serving, and the next `up`
converges."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest
import requests

from deployer import api, docker_engine
from deployer.docker_engine import EngineNotAnswering
from deployer.plugins.local_docker import compute
from deployer.testing.engine_proxy import EngineProxy

pytestmark = pytest.mark.docker

REQUEST_TIMEOUT = 3
"""The engine's request timeout in the `up` under test (30 s by default)."""


@pytest.fixture
def proxy(docker_engine, tmp_path) -> Iterator[EngineProxy]:
    with EngineProxy(tmp_path / "engine.sock", docker_engine.host.removeprefix("unix://")) as relaying:
        yield relaying


def _up_through(proxy: EngineProxy, stack, *command: str, request_timeout: float = REQUEST_TIMEOUT) -> subprocess.Popen:
    """`deployer up` (or ``command``) of ``stack`` in a process of its own, reaching the
    engine through ``proxy``, with ``request_timeout`` and no input."""
    code = textwrap.dedent(f"""
        import sys
        from deployer import docker_engine, cli
        docker_engine.REQUEST_TIMEOUT = {request_timeout}
        options = ["--target", "local", "--stack", {stack.stack!r}, "--config", {str(stack.config)!r}]
        command = {list(command or ["up"])!r}
        end = command.index("--") if "--" in command else len(command)
        sys.argv = ["deployer", *command[:end], *options, *command[end:]]
        cli.main()
        """)
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DOCKER_HOST": proxy.host},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal
    )


def _in_health_wait(stack, old: set[str]) -> None:
    """Until a new replica runs: `up` then waits for its health check (it never passes)."""
    deadline = time.monotonic() + 120
    while not [c for c in stack.containers("replica") if c["Id"] not in old and c["State"] == "running"]:
        assert time.monotonic() < deadline, "the rollout never started a replica"
        time.sleep(0.1)
    time.sleep(0.5)


def _never_healthy(stack) -> None:
    """The next version starts but never listens; Docker does not count its failed checks."""
    stack.version = "2"
    stack.command = ["sleep", "600"]
    stack.app_keys = {"health": {"interval": 5, "timeout": 2, "retries": 2, "start_period": 300}}


def _ended(process: subprocess.Popen) -> tuple[str, float]:
    """``process``'s stderr once it ended, and the seconds that took from now (at most 60)."""
    started = time.monotonic()
    try:
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    return err, time.monotonic() - started


def _converges(stack) -> None:
    stack.command, stack.app_keys, stack.version = None, {}, "3"
    stack.up()
    assert len(stack.containers("replica")) == 1
    assert len(stack.containers()) == 2, "the replica and the load balancer, nothing else"
    assert {requests.get(stack.url(), timeout=5).text for _ in range(4)} == {"version 3\n"}


@pytest.mark.parametrize("fault", ["stall", "drop"])
def test_an_engine_failing_during_the_health_wait_ends_up_with_one_line_and_exit_2(stack, proxy, fault):
    stack.up()
    old = {c["Id"] for c in stack.containers("replica")}
    _never_healthy(stack)
    process = _up_through(proxy, stack)
    _in_health_wait(stack, old)

    getattr(proxy, fault)()
    err, took = _ended(process)
    print(f"{fault}: up ended {took:.1f} s after the fault")

    assert process.returncode == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    said = "stopped answering" if fault == "stall" else "closed the connection"
    assert len(errors) == 1 and said in errors[0] and "run the same command again" in errors[0], err
    assert "Traceback" not in err
    if fault == "stall":
        assert took < 4 * REQUEST_TIMEOUT + 10, "one read times out, the cleanup is skipped"
    assert requests.get(stack.url(), timeout=5).text == "version 1\n"
    proxy.resume()
    _converges(stack)


def test_an_engine_stalling_during_a_quiet_build_step_ends_up_in_bounded_time(stack, proxy, tmp_path):
    stack.up()
    token = secrets.token_hex(4)  # a step no cache holds
    stack.use_image_with(f"RUN sleep 60 # {token}", tmp_path / "slow-build")
    process = _up_through(proxy, stack)
    deadline = time.monotonic() + 60
    while not [c for c in stack.docker.api.containers() if token in c["Command"]]:
        assert time.monotonic() < deadline, "the build never ran its RUN step"
        time.sleep(0.2)

    proxy.stall()
    err, took = _ended(process)
    print(f"stall during the build: up ended {took:.1f} s after the fault")

    assert process.returncode == 2, err
    assert "stopped answering" in err and "Traceback" not in err
    assert took < REQUEST_TIMEOUT + 3 + 5, "a silent stream pings the engine after REQUEST_TIMEOUT"
    assert requests.get(stack.url(), timeout=5).text == "version 1\n"
    proxy.resume()


def test_ctrl_c_ends_up_at_once_while_the_engine_does_not_answer(stack, proxy):
    stack.up()
    old = {c["Id"] for c in stack.containers("replica")}
    _never_healthy(stack)
    process = _up_through(proxy, stack)
    _in_health_wait(stack, old)
    proxy.stall()
    time.sleep(0.5)  # a request is blocked now

    process.send_signal(signal.SIGINT)
    err, took = _ended(process)
    print(f"Ctrl-C: up ended {took:.1f} s after SIGINT")

    assert process.returncode == 130, err
    assert "the next `up` removes the replicas this one started" in err and "interrupted" in err
    assert took < 8, "a ping (3 s) says the engine does not answer: no cleanup waits on it"
    assert requests.get(stack.url(), timeout=5).text == "version 1\n"
    proxy.resume()
    _converges(stack)


def test_an_engine_closing_the_connection_during_down_is_one_error_and_down_again_finishes(stack, proxy):
    stack.up()
    removing = compute.remove

    def remove_while_dropped(*args, **kwargs):
        proxy.drop()
        removing(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_HOST", proxy.host)
        patch.setattr(compute, "remove", remove_while_dropped)
        docker_engine.connect().api.version()  # the SDK is connected: its next call fails
        with pytest.raises(EngineNotAnswering, match=f"the Docker engine at {proxy.host} closed the connection"):
            api.down(stack.session())
    api.down(stack.session())
    assert stack.objects()["containers"] == []


@pytest.mark.parametrize(
    "command,started",
    [(("logs", "--follow"), "serving version 1"), (("exec", "--", "sh", "-c", "echo started; sleep 600"), "started")],
    ids=["logs-follow", "exec"],
)
def test_logs_follow_and_exec_end_with_one_line_when_the_engine_stops_answering(stack, proxy, command, started):
    """`logs -f` may wait on a quiet app, and `exec` on a quiet command, for ever, but not
    on a hung engine: each REQUEST_TIMEOUT of silence the engine is pinged, and one that
    does not answer ends them (the Docker SDK reads these streams with no deadline)."""
    stack.up()
    process = _up_through(proxy, stack, *command)
    assert process.stdout is not None
    assert started in process.stdout.readline()  # following; silence from now on

    proxy.stall()
    err, took = _ended(process)
    print(f"stall during {command[0]}: it ended {took:.1f} s after the fault")

    assert process.returncode == 2, err
    assert "stopped answering" in err and "Traceback" not in err
    assert took < REQUEST_TIMEOUT + 3 + 5
    proxy.resume()


def test_exec_of_a_quiet_command_outlasts_the_request_timeout_while_the_engine_answers(stack, proxy):
    """A command silent for longer than any request may take (here 4 s against 1 s) still
    has its output and exit code: the engine is pinged meanwhile, and it answers."""
    stack.up()
    process = _up_through(proxy, stack, "exec", "--", "sh", "-c", "sleep 4; echo done; exit 3", request_timeout=1)
    out, err = process.communicate(timeout=60)
    assert (process.returncode, out) == (3, "done\n"), err
