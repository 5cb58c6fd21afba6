"""Faults made from outside deployer (``docker rm``, ``kill``, ``pause``, ``network
disconnect``, ``network rm``): ``status`` says what serves, DEGRADED (exit 1) with what
to run whenever fewer replicas serve than desired, and ``up`` brings the stack back.
(An interrupted ``up``: ``test_rollout.py``.)"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from deployer import api, cli
from deployer.errors import DeployFailed
from deployer.plugins.local_docker import driver, engine, lb_routes
from deployer.plugins.local_docker.haproxy_config import CONFIG_DIR

pytestmark = pytest.mark.docker


DOC = (Path(__file__).parents[2] / "docs" / "targets" / "local.md").read_text(encoding="utf-8")


def as_documented(stack, text: str) -> str:
    """``text`` as docs/targets/local.md shows it: app ``web``, stack ``dev``, port 8080."""
    for ours, documented in (
        (f"deployer-ldtest.{stack.stack}", "deployer-web.dev"),
        (f"--stack {stack.stack}", "--stack dev"),
        (f"local/{stack.stack}:", "local/dev:"),
        (f":{stack.port}", ":8080"),
    ):
        text = text.replace(ours, documented)
    return text


def status(stack, *more: str):
    """``deployer status`` of ``stack`` through the CLI: (exit code, output)."""
    args = ["status", "--target", "local", "--stack", stack.stack, "--config", str(stack.config), *more]
    shown = CliRunner().invoke(cli.app, args)
    return shown.exit_code, shown.stdout


def degraded(stack) -> str:
    """``deployer status`` of ``stack``, which must say DEGRADED (exit 1): its output."""
    code, shown = status(stack)
    assert code == 1 and "DEGRADED" in shown, shown
    return shown


def up_command(stack) -> str:
    return f"`deployer up --target local --stack {stack.stack}`"


def names(rows) -> set[str]:
    return {r["Names"][0].lstrip("/") for r in rows}


def serves_version_1(stack) -> bool:
    return [requests.get(stack.url(), timeout=5).text for _ in range(4)] == ["version 1\n"] * 4


@pytest.mark.parametrize(
    ("tamper", "state"),
    [("remove_container", "missing"), ("kill", "not running (exited)"), ("pause", "not running (paused)")],
)
def test_a_load_balancer_removed_killed_or_paused_is_degraded_until_up_brings_it_back(stack, tamper, state):
    if tamper == "remove_container":  # the example in the docs, which has two replicas
        stack.replicas = 2
    stack.up()
    lb = f"deployer-ldtest.{stack.stack}-lb"
    tampered = getattr(stack.docker.api, tamper)
    tampered(lb, force=True) if tamper == "remove_container" else tampered(lb)

    started = time.monotonic()
    code, out = status(stack)
    assert time.monotonic() - started < lb_routes.STATS_TIMEOUT, "a frozen HAProxy's stats are not waited for"
    assert code == 1, out
    assert out.splitlines()[0] == f"local/{stack.stack}: DEGRADED: 0/{stack.replicas} healthy at {stack.url('')}", out
    assert f"the load balancer {lb} is {state}, so no replica serves: run {up_command(stack)}" in out
    if tamper == "remove_container":  # the example in the docs
        assert as_documented(stack, "\n".join(f"  {line}" for line in out.splitlines()[:2])) in DOC
    assert "None" not in out
    assert json.loads(status(stack, "--json")[1])["degraded"] is True

    stack.up()
    code, out = status(stack)
    assert code == 0 and f"{stack.replicas}/{stack.replicas} healthy" in out, out
    assert serves_version_1(stack)


def test_a_stack_whose_network_was_removed_is_degraded_until_up_replaces_what_was_on_it(stack):
    stack.up()
    network = f"deployer-ldtest.{stack.stack}"
    before = names(stack.containers())
    for name in before:
        stack.docker.api.disconnect_container_from_network(name, network, force=True)
    stack.docker.api.remove_network(network)

    code, out = status(stack)
    assert code == 1 and "DEGRADED: 0/1 healthy" in out, out
    assert "is not on the stack's network" in out and up_command(stack) in out
    planned = {(c.action, c.kind) for c in api.plan(stack.session()).changes}
    assert {("create", "network"), ("replace", "load-balancer"), ("create", "container")} <= planned, planned

    stack.up()
    assert serves_version_1(stack)
    assert not names(stack.containers("replica")) & before, "the replicas off the network were replaced"
    code, out = status(stack)
    assert code == 0 and "1/1 healthy" in out, out
    stack.lines.clear()
    stack.up()
    assert "everything is up to date: nothing changed" in stack.lines


def test_a_replica_off_the_network_is_not_serving_and_up_replaces_it(stack):
    stack.replicas = 2  # one off the network, the other serving
    stack.up()
    off = stack.containers("replica")[0]["Names"][0].lstrip("/")
    stack.docker.api.disconnect_container_from_network(off, f"deployer-ldtest.{stack.stack}")

    code, out = status(stack)
    assert code == 1 and "DEGRADED: 1/2 healthy" in out, out
    assert f"1 of 2 replicas not on the stack's network deployer-ldtest.{stack.stack}" in out
    assert f"run {up_command(stack)} to replace them" in out
    changes = {(c.action, c.name): c.detail for c in api.plan(stack.session()).changes}
    assert "replica not on the stack's network" in changes[("remove", off)], changes
    assert [k for k in changes if k[0] == "create"], changes

    stack.up()
    assert off not in names(stack.containers("replica")) and len(stack.containers("replica")) == 2
    code, out = status(stack)
    assert code == 0 and "2/2 healthy" in out, out


def test_a_serving_replica_paused_by_hand_is_not_the_standby_and_up_resumes_it(stack):
    stack.replicas = 2  # one paused, the other serving
    stack.up()
    standby = names(stack.containers("replica"))
    stack.version = "2"
    stack.up()
    assert names(stack.standby()) == standby or any("could not be paused" in x for x in stack.lines)
    paused = stack.containers("replica")[0]
    stack.docker.api.pause(paused["Id"])

    code, out = status(stack)
    assert code == 1 and "DEGRADED: 1/2 healthy" in out, out
    assert f"1 of 2 replicas paused (docker pause): run {up_command(stack)} to resume them" in out
    listed = json.loads(status(stack, "--json")[1])["details"]
    assert names(stack.standby()) - standby == {paused["Names"][0].lstrip("/")}
    assert {r["name"] for r in listed["standby"]} == names(stack.standby()) - names([paused])
    changes = {(c.action, c.name): c.detail for c in api.plan(stack.session()).changes}
    assert changes[("update", paused["Names"][0].lstrip("/"))] == "paused replica resumed", changes

    stack.up()
    assert any("resuming the paused replicas" in line for line in stack.lines), stack.lines
    assert paused["Id"] in {r["Id"] for r in stack.containers("replica")}, "resumed, not replaced"
    code, out = status(stack)
    assert code == 0 and "2/2 healthy" in out, out
    assert [requests.get(stack.url(), timeout=5).text for _ in range(4)] == ["version 2\n"] * 4


def test_when_up_repairs_the_load_balancer_and_a_replica_status_agrees_as_soon_as_it_returns(stack):
    """A load balancer stopped and a replica removed behind deployer's back: the next ``up``
    returns only once ``status`` counts every replica healthy again (HAProxy's first check
    of the replicas, Docker's of the new one), so ``deployer up && deployer status`` holds.
    Three times: before the wait, two of three runs said DEGRADED 1/2 here (with two
    replicas; one shows the same wait)."""
    stack.up()
    for _ in range(3):
        stack.docker.api.stop(f"deployer-ldtest.{stack.stack}-lb", timeout=1)
        stack.docker.api.remove_container(stack.containers("replica")[0]["Id"], force=True)
        stack.up()
        code, shown = status(stack)
        assert code == 0 and "DEGRADED" not in shown, shown


def test_a_removed_replica_leaves_the_spec_as_deployed_and_status_degraded(stack):
    """The spec is what the last rollout deployed (the load balancer's members), not
    what still runs: a replica removed by hand makes the stack DEGRADED 1/2, and
    ``spec.replicas`` stays 2."""
    stack.replicas = 2
    stack.up()
    stack.docker.api.remove_container(stack.containers("replica")[0]["Id"], force=True)
    code, shown = status(stack, "--json")
    seen = json.loads(shown)
    assert code == 1 and seen["degraded"], shown
    assert (seen["healthy"], seen["desired"], seen["spec"]["replicas"]) == (1, 2, 2), shown


def test_a_replica_that_crashed_and_was_restarted_is_shown_with_its_restarts(stack):
    """Docker's restart policy brings a crashed replica back healthy: status still says
    it restarted, when, and to read the logs (before, it showed a healthy replica only)."""
    stack.up()
    with contextlib.suppress(requests.RequestException):
        requests.get(f"http://127.0.0.1:{stack.port}/crash", timeout=5)
    deadline = time.monotonic() + 30
    while "restarted 1 time(s)" not in (shown := status(stack)[1]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "restarted 1 time(s), last at" in shown and "shows why" in shown, shown
    replica = json.loads(status(stack, "--json")[1])["details"]["replicas"][0]
    assert replica["restarts"] == 1, replica


def test_an_up_that_times_out_on_a_crash_loop_names_the_restarts(stack, monkeypatch):
    """A crash-looping app answers nothing, so ``up``'s wait times out: its error also
    names the replica that restarted and where to read why (before, only the timeout)."""
    stack.up()
    with contextlib.suppress(requests.RequestException):
        requests.get(f"http://127.0.0.1:{stack.port}/crash", timeout=5)
    deadline = time.monotonic() + 30
    while "restarted 1 time(s)" not in status(stack)[1] and time.monotonic() < deadline:
        time.sleep(0.5)

    def times_out(endpoint, checks, timeout, **_):
        raise DeployFailed(f"{endpoint} did not answer the app's checks within {timeout:.0f} s")

    monkeypatch.setattr(driver, "wait_until_serving", times_out)
    args = ["up", "--target", "local", "--stack", stack.stack, "--config", str(stack.config)]
    shown = CliRunner().invoke(cli.app, args)
    assert shown.exit_code == 1, shown.output
    assert "did not answer the app's checks within 30 s" in shown.output, shown.output
    assert f"deployer-ldtest.{stack.stack}-" in shown.output and "restarted 1 time(s), last at" in shown.output
    assert "`deployer logs --target local --stack" in shown.output and "shows why" in shown.output, shown.output


def test_status_after_a_failed_first_up_says_no_release_serves_yet(stack):
    """The first ``up`` of an app that never gets healthy leaves the load balancer routing
    to nothing: ``status`` says no release serves yet and where to read why, rather than
    "replicas not running: run up to start the missing ones", which cannot help."""
    stack.env = {"HEALTH": "fail"}
    with pytest.raises(DeployFailed):
        stack.up()
    shown = degraded(stack)
    assert (
        f"no release serves yet: the load balancer routes to no replica, as no `up` of this stack has finished (`deployer releases --target local --stack {stack.stack}` lists a failed one): run {up_command(stack)} once the app starts"
        in shown
    ), shown
    assert "to start the missing ones" not in shown and "age: 0s" not in shown, shown


def test_a_load_balancer_crashing_on_a_broken_config_is_replaced_by_up_with_a_fresh_one(stack):
    """From the fault run: a config HAProxy cannot load in the load balancer's volume makes
    it restart in a loop. ``up`` said the port was in use (it is the stack's own), then
    failed on Docker's 409, and a load balancer made anew crashed on the same volume. Now
    ``up`` replaces it, resets its config and routes again: the site serves."""
    stack.up()
    lb = f"deployer-ldtest.{stack.stack}-lb"
    stack.docker.api.put_archive(lb, CONFIG_DIR, engine.tar({"haproxy.cfg": "garbage {{{\n"}))
    stack.docker.api.restart(lb, timeout=1)
    deadline = time.monotonic() + 30
    while stack.docker.api.inspect_container(lb)["State"]["Restarting"] is False and time.monotonic() < deadline:
        time.sleep(0.2)
    code, shown = status(stack)
    assert code == 1 and f"the load balancer {lb} is not running (restarting)" in shown, shown
    try:
        stack.up()
    except Exception:
        print("\n".join(stack.lines))
        print(stack.docker.api.logs(lb).decode()[-3000:])
        raise
    assert "it kept crashing" in "\n".join(stack.lines), stack.lines
    assert serves_version_1(stack)
    code, shown = status(stack)
    assert code == 0 and "1/1 healthy" in shown, shown


def test_a_degraded_stack_with_a_standby_is_told_rollback_resumes_it(stack):
    """From the fault run: a release that crashed after it took the traffic left the stack
    degraded, and ``status`` advised only the logs, though the release before it waited
    paused, one ``rollback`` away."""
    stack.up()
    stack.version = "2"
    stack.up()
    serving = next(r for r in stack.containers("replica") if r["State"] == "running")
    stack.docker.api.stop(serving["Id"], timeout=1)
    shown = degraded(stack)
    assert (
        f"`deployer rollback --target local --stack {stack.stack}` resumes the release before it, on standby, at once"
        in shown
    ), shown
