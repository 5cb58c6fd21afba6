"""Rollouts under traffic, a failing new version, a crashed replica, interrupted and
concurrent runs, and an unreachable engine."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import requests

from deployer import api
from deployer.errors import DeployFailed, EnvironmentProblem, UsageError
from deployer.plugins.local_docker import compute, engine, lb_routes

pytestmark = pytest.mark.docker


def test_rolling_update_under_traffic_has_no_failed_request(stack, traffic):
    stack.replicas = 2
    stack.up()
    old = {c["Id"] for c in stack.containers("replica")}
    stack.version = "2"
    with traffic(stack.url()) as traffic:
        stack.up()
    assert not traffic.failures, traffic.failures
    assert traffic.bodies["version 1"] > 0 and traffic.bodies["version 2"] > 0
    assert {requests.get(stack.url(), timeout=5).text for _ in range(6)} == {"version 2\n"}
    replicas = stack.containers("replica")
    assert len(replicas) == 2 and not old & {c["Id"] for c in replicas}, "the old version's replicas are replaced"
    assert stack.paused(old), "the old version's replicas are paused, the standby"
    print(f"rollout under traffic: {traffic.sent} requests, 0 failed")


def test_only_the_release_replaced_last_stays_paused_and_every_removed_replica_gets_sigterm(stack):
    """One release on standby: the next rollout pauses the replaced replicas and removes
    the standby before them (the plan says so). Every replica removed, by a rollout or by
    ``down``, paused or not, is sent SIGTERM first (its app's shutdown code runs), and
    the test app stops on it at once, so ``down`` does not wait out the stop timeout."""
    since = time.time()
    releases = []
    for version in ("1", "2", "3"):
        stack.version = version
        stack.up()
        releases.append({c["Id"] for c in stack.containers("replica")})
    assert stack.paused(releases[1])
    assert not releases[0] & {c["Id"] for c in stack._containers(None)}, "the older standby was removed"

    stack.version = "4"
    changes = {(c.action, c.name): c.detail for c in api.plan(stack.session()).changes if c.kind == "container"}
    named = {c["Id"]: c["Names"][0].lstrip("/") for c in stack._containers("replica")}
    for replica in releases[2]:
        assert changes[("replace", named[replica])].endswith("then paused, the standby for a rollback"), changes
    standby = releases[1] & named.keys()  # but any Docker could not pause under load, which up removed
    assert standby, "release 2 is on standby"
    for replica in standby:
        assert changes[("remove", named[replica])].startswith("the standby of an older release"), changes

    started = time.monotonic()
    api.down(stack.session())
    assert time.monotonic() - started < 5, "down waited out the stop timeout"
    assert stack.objects()["containers"] == []
    signals = _kill_signals(stack.docker, since)
    for replica in set().union(*releases):
        assert signals.get(replica, [""])[0] == str(int(signal.SIGTERM)), (replica[:12], signals.get(replica))


def _kill_signals(docker_client, since: float) -> dict[str, list[str]]:
    """The signals Docker sent each container since ``since`` (its ``kill`` events), in order."""
    sent: dict[str, list[str]] = {}
    events = docker_client.events(
        since=int(since), until=int(time.time()) + 1, filters={"type": "container", "event": "kill"}, decode=True
    )
    for event in events:
        sent.setdefault(event["Actor"]["ID"], []).append(event["Actor"]["Attributes"]["signal"])
    return sent


def test_a_replica_docker_cannot_pause_or_resume_is_removed_and_the_rollout_goes_on(stack, monkeypatch):
    """The cgroup freezer can fail (``unable to freeze``): a replica that cannot be paused
    is removed instead; a standby that cannot be resumed is removed and new replicas start."""
    import docker as docker_sdk

    def refuse(self, container):
        raise docker_sdk.errors.APIError("Cannot pause container: OCI runtime pause failed: unable to freeze")

    stack.up()
    first = {c["Id"] for c in stack.containers("replica")}
    stack.version = "2"
    with monkeypatch.context() as patch:
        patch.setattr(docker_sdk.APIClient, "pause", refuse)
        stack.up()
    assert stack.standby() == [] and not first & {c["Id"] for c in stack._containers(None)}
    assert any("could not be paused" in line for line in stack.lines)

    stack.version = "3"
    stack.up()  # version 2 is the standby now
    stack.version = "2"
    with monkeypatch.context() as patch:
        patch.setattr(docker_sdk.APIClient, "unpause", refuse)
        stack.up()
    assert any("the standby could not be resumed" in line for line in stack.lines)
    assert {requests.get(stack.url(), timeout=5).text for _ in range(4)} == {"version 2\n"}
    assert len(stack.containers("replica")) == 1


def test_new_replicas_start_unthrottled_and_weighted_until_they_pass(stack, monkeypatch):
    """The start-up boost: no CPU quota and eight times the default weight while a
    replica starts; its limit and the default weight before it gets traffic."""
    from deployer.plugins.local_docker import cpu_boost

    seen = {}
    end_boost = cpu_boost.limit

    def observed(docker, names, cpu):
        for name in names:
            host = docker.api.inspect_container(name)["HostConfig"]
            seen[name] = (host["CpuQuota"], host["CpuShares"])
        end_boost(docker, names, cpu)

    monkeypatch.setattr(cpu_boost, "limit", observed)
    stack.up()
    assert len(seen) == 1 and set(seen.values()) == {(0, cpu_boost.BOOST_SHARES)}, seen
    for row in stack.containers("replica"):
        host = stack.docker.api.inspect_container(row["Id"])["HostConfig"]
        assert (host["CpuQuota"], host["CpuShares"]) == (cpu_boost.quota(256), cpu_boost.SHARES)


def _refused_rollout(stack, traffic, env: dict[str, str]) -> str:
    """Deploy version 1, then roll out version 2 with ``env`` under traffic: the rollout
    fails (exit 1), every request is answered by version 1 and the old replicas stay.
    Returns the error's text."""
    stack.up()
    old = sorted(c["Id"] for c in stack.containers("replica"))
    stack.version, stack.env = "2", env
    with traffic(stack.url()) as traffic, pytest.raises(DeployFailed) as caught:
        stack.up()
    assert not traffic.failures, traffic.failures
    assert set(traffic.bodies) == {"version 1"}
    assert caught.value.exit_code == 1
    assert sorted(c["Id"] for c in stack.containers("replica")) == old, "the new replicas are removed"
    return str(caught.value)


def test_failing_new_version_never_gets_traffic(stack, traffic):
    message = _refused_rollout(stack, traffic, {"HEALTH": "fail"})
    assert "failed its health check" in message and "The health path must answer a 2xx, not 500." in message
    assert "raise [app.health] start_period" not in message.lower(), "the app answered: it started in time"
    assert "serving version 2 on port 8000" in message, "the failing replica's last log lines"


@pytest.mark.parametrize(
    ("output", "hint"),
    [
        ("GET /healthz: status 302", "not a redirect (302)"),
        ("GET /healthz: status 404", "must answer a 2xx, not 404"),
        ("GET /healthz: [Errno 111] Connection refused", "must listen on 0.0.0.0:8000 ([app] port)"),
        ("GET /healthz: [Errno 111] Connection refused", "start_period"),
        ("", "start_period"),  # curl's and wget's probes print nothing
        # from the fault run: an app stuck at start takes connections and never answers
        ("GET /healthz: timed out", "took the connection on port 8000 but did not answer in time"),
        ("Health check exceeded timeout (2s)", "raise [app.health] timeout"),
    ],
)
def test_a_failed_checks_hint_follows_what_the_app_answered(output, hint):
    assert hint in compute.check_hint(output, 8000)


def test_a_new_version_listening_on_loopback_only_is_refused_and_never_gets_traffic(stack, traffic):
    """Docker's check runs inside the container, on 127.0.0.1, so it passes an app that
    listens there only; the load balancer cannot reach it. up says so, and why."""
    message = _refused_rollout(stack, traffic, {"BIND": "127.0.0.1"})
    assert "refuses connections on its network address" in message and "listens on 127.0.0.1 only" in message
    assert "0.0.0.0" in message


def test_a_new_version_the_load_balancer_cannot_serve_is_routed_back(stack, traffic, monkeypatch):
    """Whatever makes the load balancer fail to serve once it routes to the new replicas,
    it routes back to the old ones, which keep serving, and the new ones go."""
    stack.up()
    old = {c["Names"][0].lstrip("/") for c in stack.containers("replica")}

    def not_serving(url, path, timeout, **_):
        raise DeployFailed(f"the load balancer at {url} did not serve {path} within {timeout:.0f} s: status 503")

    monkeypatch.setattr(lb_routes, "wait_serving", not_serving)
    stack.version = "5"
    with traffic(stack.url()) as traffic, pytest.raises(DeployFailed) as caught:
        stack.up()
    assert "routes to the previous version again" in str(caught.value)
    assert not traffic.failures, traffic.failures
    assert {c["Names"][0].lstrip("/") for c in stack.containers("replica")} == old
    assert [requests.get(stack.url(), timeout=5).text for _ in range(10)] == ["version 1\n"] * 10
    assert traffic.bodies.get("version 1"), traffic.bodies  # and the new ones served while they were routed


def test_a_health_path_slower_than_two_seconds_but_within_its_timeout_deploys(stack):
    """The load balancer's check waits the app's ``health.timeout`` (here 5 s) for the
    answer, as Docker's and deployer's own probes do: a 3 s health path serves."""
    stack.env = {"HEALTH": "slow:3"}
    stack.app_keys = {"health": {"interval": 10, "timeout": 5, "retries": 2, "start_period": 0}}
    stack.up()
    assert requests.get(stack.url("/healthz"), timeout=10).status_code == 200


def test_a_release_whose_load_balancer_checks_fail_is_routed_back_at_once(stack, traffic):
    """Docker's check and a request through the endpoint pass (their Host is 127.0.0.1),
    HAProxy's check does not (its Host is localhost, which the app refuses): up waits for
    HAProxy's own checks, routes back once HAProxy marks a new replica down and says why.
    Before, up returned "deployed" and the endpoint answered 503 a few seconds later."""
    stack.up()
    stack.version, stack.env = "2", {"HEALTH": "host:127.0.0.1"}
    started = time.monotonic()
    with traffic(stack.url()) as load, pytest.raises(DeployFailed) as caught:
        stack.up()
    assert time.monotonic() - started < 25, "routed back before the 30 s wait ran out"
    assert "the load balancer's health checks (GET /healthz) fail" in str(caught.value), str(caught.value)
    assert "HTTP 500" in str(caught.value)
    assert [requests.get(stack.url(), timeout=5).text for _ in range(4)] == ["version 1\n"] * 4
    assert load.sent > 0


def test_a_killed_replica_is_routed_around_and_comes_back(stack, traffic):
    """Requests the killed replica had not answered are retried on the other one (the test
    app writes each response at once: one a process dies in the middle of is lost to any
    load balancer, its status line already sent)."""
    stack.replicas = 2
    stack.up()
    victim = stack.containers("replica")[0]
    pid = stack.docker.api.inspect_container(victim["Id"])["State"]["Pid"]
    with traffic(stack.url()) as traffic:
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = stack.docker.api.inspect_container(victim["Id"])["State"]
            if state["Running"] and state.get("Health", {}).get("Status") == "healthy" and state["Pid"] != pid:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the killed replica did not come back healthy")
        time.sleep(2)  # the load balancer routes to it again
    assert not traffic.failures, traffic.failures
    assert stack.docker.api.inspect_container(victim["Id"])["RestartCount"] >= 1
    assert api.status(stack.session()).healthy == 2


def test_a_rollout_removing_replicas_says_it_waits_for_sigterm_then_sigkill(stack):
    """An app that ignores SIGTERM holds a removal up for the stop timeout: the rollout
    says so, as ``down`` does."""
    stack.replicas = 2
    stack.up()
    names = sorted(c["Names"][0].lstrip("/") for c in stack.containers("replica"))
    stack.replicas = 1
    stack.up()
    assert f"stopping (SIGTERM, SIGKILL after 10 s) and removing {names[1]}" in stack.lines, stack.lines


def _up_in_subprocess(stack) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        from deployer import api, docker_labels
        api.up(api.open_session(target="local", stack={stack.stack!r}, config={str(stack.config)!r}))
        """)
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ}
    )


def _wait_for_new_replica(stack, old: set[str]) -> None:
    deadline = time.monotonic() + 60
    while not {c["Id"] for c in stack.containers("replica")} - old:
        assert time.monotonic() < deadline, "the rollout never started a replica"
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_interrupted_up_then_up_converges_without_orphans(stack, sig):
    stack.up()
    old = {c["Id"] for c in stack.containers("replica")}
    old_image = stack.containers("replica")[0]["Image"]
    stack.version = "4"
    process = _up_in_subprocess(stack)
    _wait_for_new_replica(stack, old)
    process.send_signal(sig)
    process.wait(timeout=60)
    assert process.returncode != 0
    if sig == signal.SIGTERM:  # a graceful interrupt removes what it started
        assert {c["Id"] for c in stack.containers("replica")} == old
    assert requests.get(stack.url(), timeout=5).text == "version 1\n"
    status = api.status(stack.session())  # what serves: the old replicas, whatever the killed up left
    assert (status.healthy, status.degraded, status.image) == (1, False, old_image)

    stack.up()
    replicas = stack.containers("replica")
    assert len(replicas) == 1 and replicas[0]["State"] == "running"
    assert len(stack.containers()) == 2, "the replica and the load balancer, nothing else"
    assert {requests.get(stack.url(), timeout=5).text for _ in range(6)} == {"version 4\n"}


def test_ctrl_c_while_a_replica_is_being_created_leaves_no_new_replica(stack):
    """The replicas are created in parallel: Ctrl-C while one create is still in flight
    waits for it before removing the new replicas, so none outlives the clean-up."""
    stack.replicas = 2
    stack.up()
    old = {c["Id"] for c in stack.containers("replica")}
    stack.version = "6"
    creating, created = threading.Event(), threading.Event()
    real_create = compute._create

    def slow_second_create(*args, **kwargs):
        if args[4].endswith("-2"):  # the replica's name
            creating.set()
            time.sleep(1.5)
            real_create(*args, **kwargs)
            created.set()
        else:
            real_create(*args, **kwargs)

    finished = threading.Event()

    def interrupt_once_it_creates() -> None:
        creating.wait(60)
        if not finished.is_set():  # never a stray Ctrl-C into a later test
            os.kill(os.getpid(), signal.SIGINT)  # it wakes the main thread's wait

    interrupter = threading.Thread(target=interrupt_once_it_creates, daemon=True)
    try:
        with pytest.MonkeyPatch.context() as patch, pytest.raises(KeyboardInterrupt):
            patch.setattr(compute, "_create", slow_second_create)
            interrupter.start()
            stack.up()
    finally:
        finished.set()  # up ended before the slow create began: no signal
        creating.set()
        interrupter.join()
    assert created.wait(10), "the slow create finished"
    assert {c["Id"] for c in stack.containers("replica")} == old
    assert requests.get(stack.url(), timeout=5).text == "version 1\n"


def test_up_interrupted_before_the_reload_converges_on_the_next_up(stack, capfd):
    """Where SIGKILL during the new replicas' health wait leaves the stack: ``status``
    counts what the load balancer routes to and names its image, and says to run ``up``
    about the others (exit 0: the desired replicas serve)."""
    stack.replicas = 2  # as in the docs' example
    stack.up()
    old = {c["Names"][0].lstrip("/") for c in stack.containers("replica")}
    serving_image = stack.containers("replica")[0]["Image"]
    stack.version = "5"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt("between starting the new replicas and reloading HAProxy")

    with pytest.MonkeyPatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(lb_routes, "register", interrupted)
        patch.setattr(compute, "_clean_up", lambda *args: None)  # SIGKILL runs no clean-up
        stack.up()
    assert len(stack.containers("replica")) == 4, "new replicas started, old ones still routed"
    assert requests.get(stack.url(), timeout=5).text == "version 1\n"
    status = api.status(stack.session())
    assert (status.healthy, status.desired, status.degraded, status.image) == (2, 2, False, serving_image)
    assert {r["name"] for r in status.details["replicas"]} == old and len(status.details["not_routed"]) == 2
    assert status.notice.startswith("2 replica(s) beyond the 2") and "deployer up" in status.notice
    documented = status.notice.replace(f"--stack {stack.stack}", "--stack dev")
    assert f"    {documented}\n" in (Path(__file__).parents[2] / "docs" / "targets" / "local.md").read_text()
    # exec and run act in (or like) what serves, not the newer replicas beside it
    capfd.readouterr()
    for replica in (1, 2):
        assert api.exec_in_replica(stack.session(), ["printenv", "APP_VERSION"], replica=replica) == 0
    with pytest.raises(UsageError, match="--replica: 3 is not running; 2 replica"):
        api.exec_in_replica(stack.session(), ["true"], replica=3)
    assert api.run_once(stack.session(), ["printenv", "APP_VERSION"]) == 0
    assert capfd.readouterr().out.split() == ["1", "1", "1"]

    stack.up()
    replicas = {c["Names"][0].lstrip("/") for c in stack.containers("replica")}
    assert len(replicas) == 2 and not replicas & old
    assert {requests.get(stack.url(), timeout=5).text for _ in range(6)} == {"version 5\n"}
    assert api.status(stack.session()).notice == ""


def test_an_interrupt_while_the_new_routes_load_routes_back(stack):
    """From the fault run: Ctrl-C 0.05 to 0.15 s after "routing to" ended ``up``, and the
    reload it had begun put the new version live with no release recorded, so a later
    ``rollback`` skipped a release. The routes' write and reload are now inside the
    rollout's clean-up: the old version serves again and is still the current release."""
    stack.up()
    old = {c["Id"] for c in stack.containers("replica")}
    stack.version = "7"
    real_register = lb_routes.register
    calls = []

    def loaded_then_interrupted(docker, upstream, members):
        workers = real_register(docker, upstream, members)
        calls.append(members)
        if len(calls) == 1:  # the new routes, not the route back
            raise KeyboardInterrupt("right after HAProxy loaded the new routes")
        return workers

    with pytest.MonkeyPatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(lb_routes, "register", loaded_then_interrupted)
        stack.up()
    assert {requests.get(stack.url(), timeout=5).text for _ in range(6)} == {"version 1\n"}
    assert {c["Id"] for c in stack.containers("replica")} == old
    assert [(r.number, r.current) for r in api.releases(stack.session())] == [(1, True)]


def test_a_reload_right_after_another_is_not_lost(stack):
    """HAProxy 2.6 loses a reload signal sent while the reload before it still runs: the
    fault run's route back after an interrupt left the removed replicas routed (503).
    :func:`lb_routes.register` sends its signal once the master can take it and returns
    once its reload runs. Shown with the load balancer at 0.1 CPU, as on a loaded machine,
    and a first reload slowed further by 256 servers (a replica's name in every mix of
    upper and lower case letters: DNS reads them all as the same), then a second at once:
    the second's routes are live. Before the fix this failed 3 runs of 4 (the first's
    routes stayed live for the 20 s waited)."""
    stack.replicas = 2
    seen = []
    real_register = lb_routes.register
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lb_routes, "register", lambda docker, *args: seen.append(args) or real_register(docker, *args))
        stack.up()
    upstream, members = seen[-1]
    docker = engine.client()
    name = members[1]  # "deployer-...": its first 8 letters in each of 256 cases
    variants = {
        "".join(c.upper() if bit >> n & 1 else c for n, c in enumerate(name[:8])) + name[8:] for bit in range(256)
    }
    limit = {"NanoCpus": 100_000_000}  # 0.1 CPU, as on a loaded machine (the SDK's update has no NanoCpus)
    stack.docker.api._post_json(stack.docker.api._url("/containers/{0}/update", upstream.container), data=limit)
    lb_routes.register(docker, upstream, tuple(sorted(variants)))
    lb_routes.register(docker, upstream, members[:1])
    # no earlier HAProxy worker routes to members[:1] alone: only the second reload's can answer so
    lb_routes.wait_routed(docker, upstream, members[:1], timeout=20)


def test_concurrent_up_waits_for_the_first(stack):
    stack.up()
    stack.version = "5"
    first, second = _up_in_subprocess(stack), _up_in_subprocess(stack)
    outputs = [p.communicate(timeout=120)[0] for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), outputs
    assert len(stack.containers("replica")) == 1 and len(stack.containers()) == 2
    assert requests.get(stack.url(), timeout=5).text == "version 5\n"


def test_concurrent_ups_build_once_and_roll_out_once(stack):
    stack.version = secrets.token_hex(4)  # an image no one has built yet
    command = [sys.executable, "-m", "deployer", "up", "--target", "local", "--stack", stack.stack]
    runs = [
        subprocess.Popen(
            [*command, "--config", str(stack.config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ},
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    builds = [sum(line.strip().startswith("building deployer/ldtest:") for line in o.splitlines()) for o in outputs]
    assert sorted(builds) == [0, 1], outputs
    second = outputs[builds.index(0)]
    assert "is up to date" in second and "everything is up to date: nothing changed" in second, second
    assert "waiting for another deployer run" in second, second
    assert requests.get(stack.url(), timeout=5).text == f"version {stack.version}\n"
    assert len(stack.containers("replica")) == 1


def test_lock_is_reentrant_in_its_thread_only(stack):
    from deployer.plugins.local_docker.lock import stack_lock

    with stack_lock("ldtest", stack.stack, timeout=1, report=print):
        with stack_lock("ldtest", stack.stack, timeout=1, report=print):
            pass  # the same thread: no wait
        failures: list[BaseException] = []

        def other_thread() -> None:
            try:
                with stack_lock("ldtest", stack.stack, timeout=0.3, report=lambda line: None):
                    pass
            except DeployFailed as error:
                failures.append(error)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert len(failures) == 1 and "lock_timeout" in str(failures[0])
    with stack_lock("ldtest", stack.stack, timeout=1, report=print):
        pass  # released once the outermost holder leaves


def test_lock_timeout_fails_clearly(stack):
    from deployer.plugins.local_docker.lock import stack_lock

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
        import sys, time
        from deployer.plugins.local_docker.lock import stack_lock
        with stack_lock("ldtest", sys.argv[1], timeout=5, report=print):
            print("held", flush=True)
            time.sleep(30)
        """),
            stack.stack,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        waited = []
        with (
            pytest.raises(DeployFailed) as caught,
            stack_lock("ldtest", stack.stack, timeout=0.5, report=waited.append),
        ):
            pass
        assert f"pid {holder.pid}" in str(caught.value) and "lock_timeout" in str(caught.value)
        assert waited and "waiting for another deployer run" in waited[0]
    finally:
        holder.kill()
        holder.wait()


def test_sigterm_before_the_rollout_ends_up_as_an_interrupt(stack):
    """From the fault run: SIGTERM while ``up`` waited for the lock (or built) ended it with
    code 143 and no word; SIGTERM is Ctrl-C for the whole command now: one line, exit 130."""
    from deployer.plugins.local_docker.lock import stack_lock

    with stack_lock("ldtest", stack.stack, timeout=5, report=print):
        command = [sys.executable, "-m", "deployer", "up", "--target", "local", "--stack", stack.stack]
        waiting = subprocess.Popen(
            [*command, "--config", str(stack.config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        seen = []
        for line in waiting.stdout:  # the progress lines
            seen.append(line)
            if "waiting for another deployer run" in line:
                break
        waiting.send_signal(signal.SIGTERM)
        rest, _ = waiting.communicate(timeout=30)
    assert waiting.returncode == 130, [*seen, rest]
    assert rest.strip().splitlines()[-1] == "error: interrupted; run the same command again to converge", rest


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["python3", "-c", "raise SystemExit(3)"], "it exited with code 3"),
        (
            ["python3", "-c", "open('/srv/cache.txt', 'w')"],
            "The root filesystem is read-only: write under /tmp (a tmpfs), or set [targets.local] read_only = false.",
        ),
    ],
)
def test_a_replica_that_exits_says_its_exit_code_and_the_fix_for_a_read_only_write(stack, command, said):
    stack.command = command
    with pytest.raises(DeployFailed) as caught:
        stack.up()
    assert "stopped before it became healthy" in str(caught.value) and said in str(caught.value)


def test_a_failed_replicas_error_shows_the_apps_own_lines_not_its_health_checks(stack):
    """deployer probes a starting replica every 0.1 s: an app that logs every request
    would fill the tail with those lines; the error leaves them out."""
    stack.command = ["python3", "-u", "-m", "http.server", "8000"]  # logs each request; /healthz is a 404
    with pytest.raises(DeployFailed) as caught:
        stack.up()
    shown = str(caught.value).split("last log lines:")[1]
    assert "Serving HTTP on" in shown and "GET /healthz" not in shown, shown
    assert sum(line.startswith("  | ") for line in shown.splitlines()) <= 21, shown  # 10, the gap, 10


def test_a_failed_replicas_error_hides_the_secrets_the_app_printed(stack, monkeypatch):
    """From a trial: an app that prints a secret as it fails had it printed again in
    deployer's own error. Its value is hidden there; its name and the rest stay."""
    stack.app_keys = {"secrets": ["API_TOKEN"]}
    monkeypatch.setenv("API_TOKEN", "hunter2-s3cr3t")
    stack.command = ["/bin/sh", "-c", 'echo "fatal: bad token $API_TOKEN for API_TOKEN"; exit 1']
    with pytest.raises(DeployFailed) as caught:
        stack.up()
    assert "fatal: bad token *** for API_TOKEN" in str(caught.value) and "hunter2" not in str(caught.value)


def test_a_failed_replica_that_logged_only_health_requests_shows_the_last_of_them(stack):
    """From a trial: an app that logs every request and answers its health path with a
    redirect printed nothing else, and the error said "(no output)" though its last lines
    were the evidence. The health check's empty output names no tool the image lacks."""
    app = "import http.server as h; h.HTTPServer(('', 8000), h.SimpleHTTPRequestHandler).serve_forever()"
    # starts silently, logs each request; /healthz is a folder, so it answers 301 to /healthz/
    stack.command = ["/bin/sh", "-c", f'cd /tmp && mkdir healthz && exec python3 -u -c "{app}"']
    with pytest.raises(DeployFailed) as caught:
        stack.up()
    message = str(caught.value)
    shown = message.split("last log lines:")[1]
    assert "(only requests for /healthz; the last" in shown and '"GET /healthz HTTP/1.1" 301' in shown, shown
    assert "(no output)" not in shown and "curl or wget" not in message, message


KEEP_ALIVE_APP = """
import http.server
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps each connection open for the next request
    def do_GET(self):
        body = b"<p>not here</p>" * 100
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
print("keep-alive app started", flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
"""


def test_deployers_own_probes_reset_no_connection_of_a_keep_alive_app(stack):
    """The direct probe (every 0.1 s) asks the app to close and reads its answer to the
    end: an HTTP/1.1 server that logs failed reads (http.server) would otherwise print a
    ConnectionResetError traceback per probe, burying its own lines in the failure."""
    stack.command = ["python3", "-u", "-c", KEEP_ALIVE_APP]
    stack.app_keys = {"health": {"retries": 1, "start_period": 0}}
    stack.settings = {"health_interval": 1}
    with pytest.raises(DeployFailed) as caught:
        stack.up()
    shown = str(caught.value).split("last log lines:")[1]
    assert "keep-alive app started" in shown and "ConnectionResetError" not in shown, shown


def test_a_replica_listening_on_the_port_its_image_exposes_instead_is_named(stack, tmp_path):
    stack.use_image_with("EXPOSE 9999", tmp_path / "exposed-app")
    stack.command = ["python3", "-m", "http.server", "9999"]
    with pytest.raises(DeployFailed) as caught:
        stack.up()
    assert "The image EXPOSEs 9999/tcp, not [app] port 8000: set port to the one the app listens on" in str(
        caught.value
    )


def test_unreachable_engine_says_how_to_start_it(stack, tmp_path):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
        for call in (lambda: api.status(stack.session()), lambda: api.down(stack.session()), stack.up):
            with pytest.raises(EnvironmentProblem) as caught:
                call()
            assert "Docker engine not reachable" in str(caught.value) and "dockerd" in str(caught.value)


def test_a_command_missing_from_the_image_is_a_clear_failure(stack):
    stack.up()
    old = sorted(c["Id"] for c in stack.containers("replica"))
    stack.command = ["no-such-binary"]
    with pytest.raises(DeployFailed) as caught:
        stack.up()
    # Docker's init (PID 1) starts the command, so the replica stops and its log says why
    assert "stopped before it became healthy" in str(caught.value)
    assert "no-such-binary failed: No such file or directory" in str(caught.value)
    assert sorted(c["Id"] for c in stack.containers("replica")) == old, "the new replica is removed"
    assert requests.get(stack.url(), timeout=5).text == "version 1\n"


def test_a_new_version_that_ends_at_once_with_code_0_is_told_where_batch_work_belongs(stack, traffic):
    """A command that runs and ends (a batch job deployed as the web service) exits 0:
    the error says what a web app must do and where such a command belongs."""
    stack.up()
    stack.command = ["python3", "-c", "print('batch done')"]
    with traffic(stack.url()) as load, pytest.raises(DeployFailed) as caught:
        stack.up()
    assert "it exited with code 0: a web app must keep serving" in str(caught.value), str(caught.value)
    assert not load.failures, load.failures
