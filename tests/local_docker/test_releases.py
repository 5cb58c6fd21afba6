"""Releases recorded by ``up``, listed from the target's state (also from a second
checkout), ``rollback`` under traffic, and a refused rollback when the image is gone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest
import requests

from deployer import api
from deployer.errors import DeployFailed, UsageError
from deployer.releases import ROLLBACK_DEPTH

pytestmark = pytest.mark.docker


def test_releases_listed_after_two_ups_and_from_another_checkout(stack, tmp_path):
    stack.up()
    stack.up()  # unchanged: no new release
    stack.version = "2"
    stack.up()
    listed = api.releases(stack.session())
    assert [(r.number, r.status, r.current) for r in listed] == [(1, "deployed", False), (2, "deployed", True)]
    assert listed[0].image != listed[1].image and listed[0].config_hash == listed[1].config_hash
    assert all(r.by and r.created and r.image_present for r in listed)

    other = tmp_path / "other-checkout"
    other.mkdir()
    shutil.copy(stack.config, other / "deployer.toml")
    session = api.open_session(target="local", stack=stack.stack, config=other / "deployer.toml")
    assert [(r.number, r.image) for r in api.releases(session)] == [(r.number, r.image) for r in listed]


def test_rollback_to_previous_release_under_traffic(stack, traffic):
    """The release a rollout replaces stays paused (the standby); a rollback to it resumes
    those very containers instead of starting new ones, and pauses the replaced ones."""

    def ids(rows):
        return {r["Id"] for r in rows}

    stack.replicas = 2
    stack.up()
    first = ids(stack.containers("replica"))
    stack.version = "2"
    stack.up()
    second = ids(stack.containers("replica"))
    assert stack.paused(first) and not first & second
    resumable = ids(stack.standby())
    with traffic(stack.url()) as load:
        deployment = api.rollback(stack.session())
    assert deployment.endpoint
    assert not load.failures, load.failures
    assert {requests.get(stack.url(), timeout=5).text for _ in range(6)} == {"version 1\n"}
    assert resumable and resumable <= ids(stack.containers("replica")), "the standby was resumed, not replaced"
    assert stack.paused(second)
    paused = ids(stack.standby())
    assert any("resuming the standby" in line for line in stack.lines)
    assert any("Docker's health check passed again" in line for line in stack.lines), "it says what it waited for"
    status = api.status(stack.session())
    assert (status.healthy, status.desired) == (2, 2), "Docker's health check agrees once rollback returns"
    listed = api.releases(stack.session())
    assert listed[-1].note == "rollback to 1" and listed[-1].current and listed[-1].image == listed[0].image
    assert any("no build" in line for line in stack.lines)
    stack.up()  # the working tree again (version 2)
    assert any("deployed the working tree again" in line for line in stack.lines)
    assert {requests.get(stack.url(), timeout=5).text for _ in range(6)} == {"version 2\n"}
    assert paused <= ids(stack.containers("replica")), "the paused ones were resumed"


def test_failed_and_refused_ups_leave_no_image_so_the_kept_ones_all_served(stack, tmp_path):
    """Builds keep the newest KEEP_IMAGES images, and those of the current release and the
    two before it; an ``up`` that fails, or is refused because its image runs as root,
    removes its own (its build steps stay cached), so it takes no rollback's place: after a
    third release, the first still has its image, and after a rollback to it and a fourth
    build too."""
    for version in ("1", "2"):
        stack.version = f"kept-{version}-{stack.stack}"  # images no other test uses
        stack.up()
    app, root = stack.context, tmp_path / "root"
    shutil.copytree(app, root)
    (root / "Dockerfile").write_text((app / "Dockerfile").read_text() + "USER root\n")
    stack.context, stack.version = root, f"root-{stack.stack}"
    with pytest.raises(UsageError, match="runs as root"):
        stack.up()
    stack.context, stack.version, stack.env = app, f"broken-{stack.stack}", {"HEALTH": "fail"}
    with pytest.raises(DeployFailed):
        stack.up()
    removed = [line for line in stack.lines if line.startswith("removed image")]
    assert [line.rpartition(": ")[2] for line in removed] == ["refused", "its release failed"], stack.lines
    stack.version, stack.env = f"kept-3-{stack.stack}", {}
    stack.up()
    listed = api.releases(stack.session())
    assert [(r.status, r.image_present) for r in listed] == [
        ("deployed", True),
        ("deployed", True),
        ("failed", False),
        ("deployed", True),
    ]
    api.rollback(stack.session(), 1)
    assert requests.get(stack.url(), timeout=5).text == f"version kept-1-{stack.stack}\n"
    # From the fault run: images were kept by build time only, so two builds later (the
    # standby no longer holding it) the image the rollback had restored, the oldest build,
    # was pruned, though its release (5) is one of those rollback promises; it is kept now
    for version in ("4", "5"):
        stack.version = f"kept-{version}-{stack.stack}"
        stack.up()
    assert [(r.number, r.image_present) for r in api.releases(stack.session())][-3:] == [
        (5, True),
        (6, True),
        (7, True),
    ]
    api.rollback(stack.session(), 5)
    assert requests.get(stack.url(), timeout=5).text == f"version kept-1-{stack.stack}\n"


def test_a_rollback_resumes_a_standby_docker_marked_unhealthy_while_it_was_paused(stack):
    """From the fault run: Docker marks a paused container unhealthy within seconds, and
    ``rollback`` to a standby paused longer than that took the stale mark for a failed
    check ("of the new version ... Nothing answered") and removed the standby, when the
    app did not answer at once (gunicorn replaces its stale workers: here, 503 for 2 s).
    Docker's stale "unhealthy" does not count for a resumed replica now."""
    stack.env = {"HEALTH": "thaw:2"}
    stack.up()
    stack.version = "2"
    stack.up()
    paused_at = time.monotonic()

    def marked_unhealthy() -> bool:
        states = [stack.docker.api.inspect_container(r["Id"])["State"] for r in stack.standby()]
        return bool(states) and all(state["Health"]["Status"] == "unhealthy" for state in states)

    deadline = time.monotonic() + 30
    while not marked_unhealthy() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert marked_unhealthy()
    time.sleep(max(0.0, paused_at + 3 - time.monotonic()))  # frozen long enough for the app to notice
    resumable = {r["Id"] for r in stack.standby()}
    api.rollback(stack.session())
    assert {requests.get(stack.url(), timeout=5).text for _ in range(6)} == {"version 1\n"}
    assert resumable <= {r["Id"] for r in stack.containers("replica")}, "the standby was resumed, not replaced"


def test_rollback_refused_when_the_image_is_gone(stack):
    stack.version = f"only-{stack.stack}"  # an image no other test's container uses
    stack.up()
    first = api.releases(stack.session())[0]
    for version in ("2", "3"):
        stack.version = version
        stack.up()
    stack.docker.api.remove_image(first.image)  # what pruning does beyond KEEP_IMAGES
    assert api.releases(stack.session())[0].image_present is False
    with pytest.raises(UsageError) as caught:
        api.rollback(stack.session(), 1)
    assert caught.value.exit_code == 2
    assert "was removed" in str(caught.value) and f"the {ROLLBACK_DEPTH} before it" in str(caught.value)
    assert {requests.get(stack.url(), timeout=5).text for _ in range(4)} == {"version 3\n"}
    with pytest.raises(UsageError, match="no release 9"):
        api.rollback(stack.session(), 9)

    cli = [sys.executable, "-m", "deployer"]
    where = ["--stack", stack.stack, "--config", str(stack.config)]
    refused = subprocess.run([*cli, "rollback", "1", *where], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "was removed" in refused.stderr, refused.stderr
    listed = subprocess.run([*cli, "releases", "--json", *where], capture_output=True, text=True, timeout=120)
    rows = json.loads(listed.stdout)
    assert [(r["number"], r["current"], r["image_present"]) for r in rows] == [
        (1, False, False),
        (2, False, True),
        (3, True, True),
    ]
    # From the fault run: after `docker rmi -f` of the standby's image (its tag goes; the
    # image stays, its containers use it), releases said present and rollback refused,
    # saying it was removed; it is found by its ID and tagged again
    second = api.releases(stack.session())[1]
    stack.docker.api.remove_image(second.image, force=True)
    assert api.releases(stack.session())[1].image_present
    api.rollback(stack.session(), 2)
    assert {requests.get(stack.url(), timeout=5).text for _ in range(4)} == {"version 2\n"}
    assert stack.docker.api.inspect_image(second.image)["Id"] == second.image_id


def test_rollback_goes_back_to_another_image_and_a_repeat_only_restarts_what_is_missing(stack):
    """A config-only release is not a rollback target (its image is the serving one); a
    degraded stack serving a rollback to N is told to run ``rollback N`` (``up`` would
    deploy the working tree), which starts the missing replica and records nothing."""
    stack.up()
    stack.version = "2"
    stack.up()
    stack.env = {"GREETING": "hello"}
    stack.up()  # release 3: release 2's image, another config
    api.rollback(stack.session())
    assert {requests.get(stack.url(), timeout=5).text for _ in range(4)} == {"version 1\n"}
    listed = api.releases(stack.session())
    assert (listed[-1].number, listed[-1].note) == (4, "rollback to 1")

    stack.docker.api.stop(stack.containers("replica")[0]["Id"], timeout=1)
    status = api.status(stack.session())
    assert status.degraded and f"run `deployer rollback 1 --target local --stack {stack.stack}`" in status.advice
    stack.lines.clear()
    api.rollback(stack.session(), 1)
    assert any("ran the image serving now" in line for line in stack.lines), stack.lines
    status = api.status(stack.session())
    assert (status.healthy, status.desired) == (1, 1)
    assert [r.number for r in api.releases(stack.session())] == [1, 2, 3, 4], "nothing changed: nothing recorded"
    assert {requests.get(stack.url(), timeout=5).text for _ in range(4)} == {"version 1\n"}
    stack.lines.clear()
    api.rollback(stack.session(), 4)  # the serving release itself
    assert any("release 4 is the one serving" in line for line in stack.lines), stack.lines
    assert [r.number for r in api.releases(stack.session())] == [1, 2, 3, 4]


def test_an_up_interrupted_after_the_switch_records_the_release_that_serves(stack, monkeypatch):
    """Ctrl-C after the load balancer switched (here: in the final wait for the endpoint)
    leaves the new version serving: the history must say so, and a rollback goes back to
    the release before it. Before the switch nothing is recorded (other tests)."""
    from deployer.plugins.local_docker import driver

    stack.version = f"one-{stack.stack}"
    stack.up()
    stack.version = f"two-{stack.stack}"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt("Ctrl-C")

    monkeypatch.setattr(driver, "wait_until_serving", interrupted)
    with pytest.raises(KeyboardInterrupt):
        stack.up()
    monkeypatch.undo()
    assert requests.get(stack.url(), timeout=5).text == f"version two-{stack.stack}\n"
    listed = api.releases(stack.session())
    assert [(r.number, r.status, r.current) for r in listed] == [(1, "deployed", False), (2, "deployed", True)]
    api.rollback(stack.session())
    assert requests.get(stack.url(), timeout=5).text == f"version one-{stack.stack}\n"


def test_a_rollback_when_every_earlier_release_ran_the_same_image_says_why(stack):
    """Two releases that differ by their config only: nothing to roll back to, and the
    error says why instead of "no earlier release" beside a list of two."""
    stack.up()
    stack.env = {"GREETING": "hi"}
    stack.up()
    assert len(api.releases(stack.session())) == 2
    with pytest.raises(UsageError, match="every earlier release ran the image serving now"):
        api.rollback(stack.session())


def test_a_worker_that_fails_after_the_switch_leaves_the_serving_release_current(stack):
    """Workers start after the web replicas took the traffic: a worker that cannot start
    fails ``up`` (exit 1), but the new release serves, so ``releases`` says so and a
    plain ``rollback`` goes back to the release before it (before, the failed release
    was not current, or not recorded at all, and rollback aimed at the wrong one)."""
    stack.up()
    stack.version = "2"
    config = stack.config
    config.write_text(config.read_text() + '\n[workers.mailer]\ncommand = ["/no/such/worker"]\n')
    session = api.open_session(target="local", stack=stack.stack, config=config)
    with pytest.raises(DeployFailed) as caught:
        api.up(session)
    assert "worker" in str(caught.value) and "/no/such/worker" in str(caught.value), caught.value
    assert requests.get(stack.url(), timeout=5).text == "version 2\n"
    listed = api.releases(session)
    assert [(r.number, r.current) for r in listed] == [(1, False), (2, True)], listed
    assert "The load balancer routes to release 2, the new version" in str(caught.value), caught.value
