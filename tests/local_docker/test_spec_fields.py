"""What a replica's labels say about its spec: the fields a plan's replacements name, and
secrets that only a key on this machine can fingerprint (a guess cannot be confirmed)."""

from __future__ import annotations

import hashlib
import json
import stat

import pytest

from deployer import api, docker_labels
from deployer.plugins.local_docker import secret_key

pytestmark = pytest.mark.docker

SECRET = "API_TOKEN"


@pytest.fixture
def with_secret(stack, monkeypatch):
    stack.app_keys = {"secrets": [SECRET]}
    monkeypatch.setenv(SECRET, "correct horse battery staple")
    return stack


def labels(stack) -> list[dict[str, str]]:
    return [row["Labels"] for row in stack.containers("replica")]


def replaced(plan) -> set[tuple[str, ...]]:
    assert all(c.action != "replace" or c.detail.startswith("by ") for c in plan.changes)
    return {c.fields for c in plan.changes if c.action == "replace"}


def test_a_replacement_names_each_field_that_changed(with_secret, monkeypatch):
    stack = with_secret
    stack.env = {"GREETING": "hi"}
    stack.up()
    assert {c.action for c in api.plan(stack.session()).changes} == {"unchanged"}

    monkeypatch.setenv(SECRET, "a new token")
    assert replaced(api.plan(stack.session())) == {("secret values",)}
    monkeypatch.setenv(SECRET, "correct horse battery staple")

    stack.env = {"GREETING": "hello"}
    assert replaced(api.plan(stack.session())) == {("env values",)}
    stack.env = {"GREETING": "hi", "EXTRA": "1"}
    assert replaced(api.plan(stack.session())) == {("env names",)}
    stack.env = {"GREETING": "hi"}

    stack.version = "2"  # a new image (plan does not build it: its ID is unknown, so it differs)
    stack.command = ["python3", "/srv/server.py"]
    stack.app_keys = {
        "secrets": [SECRET],
        "port": 8001,
        "cpu": 512,
        "memory": 1024,
        "health": {"path": "/health", "interval": 5, "timeout": 2, "retries": 2, "start_period": 0},
    }
    assert replaced(api.plan(stack.session())) == {
        ("image", "port", "command", "cpu", "memory", "health"),
    }


def test_plan_names_the_replicas_up_creates_or_says_they_are_not_named_yet(stack):
    stack.up()
    stack.replicas = 2  # same image: the plan knows the new replica's name
    (planned,) = [c.name for c in api.plan(stack.session()).changes if c.action == "create" and c.kind == "container"]
    stack.up()
    assert planned in {c["Names"][0].lstrip("/") for c in stack.containers("replica")}
    stack.version = f"plan-{stack.stack}"  # an image no test built: plan does not build it, so no names yet
    names = [c.detail for c in api.plan(stack.session()).changes if c.action == "replace"]
    assert len(names) == 2 and all("-<new>-" in detail for detail in names), names
    assert all(detail.endswith("then paused, the standby for a rollback") for detail in names), names


def test_a_count_change_creates_or_removes_and_replaces_nothing(stack):
    stack.replicas = 2
    stack.up()
    stack.replicas = 3
    more = api.plan(stack.session()).changes
    assert [c.action for c in more if c.kind == "container"].count("create") == 1
    assert not replaced(api.plan(stack.session()))
    stack.replicas = 1
    fewer = [c for c in api.plan(stack.session()).changes if c.kind == "container"]
    assert sorted(c.action for c in fewer) == ["remove", "unchanged"]
    assert [c.detail for c in fewer if c.action == "remove"] == ["surplus replica, after draining"]


def test_the_labels_hold_no_guessable_hash_of_a_secret(with_secret, monkeypatch):
    stack = with_secret
    assert api.plan(stack.session()).changes == api.plan(stack.session()).changes
    assert not secret_key.key_path().exists(), "plan only reads the key"
    stack.up()
    first = labels(stack)
    hashes = {row[docker_labels.SPEC_HASH] for row in first}
    assert len(hashes) == 1

    stack.up()  # nothing changed: the same replicas, the same label
    assert labels(stack) == first

    # the old attack: hash a guessed value the way an unkeyed label would, look for it
    guess = "correct horse battery staple"
    text = json.dumps(first)
    for unkeyed in (
        hashlib.sha256(guess.encode()).hexdigest(),
        hashlib.sha256(json.dumps(sorted({SECRET: guess}.items())).encode()).hexdigest(),
        hashlib.sha256(f"{SECRET}\0{guess}".encode()).hexdigest(),
    ):
        for size in (12, 16, 64):
            assert unkeyed[:size] not in text, "a guessed secret can be confirmed from the labels"
    assert guess not in text
    # and the whole spec hash as an unkeyed scheme computes it from public values + the guess
    info = stack.docker.api.inspect_container(stack.containers("replica")[0]["Id"])
    unkeyed_spec = {
        "image": info["Image"],
        "port": 8000,
        "command": None,
        "env": [],
        "secrets": hashlib.sha256(json.dumps(sorted({SECRET: guess}.items())).encode()).hexdigest(),
        "health": ["/healthz", 2, 2, 0, 1],
        "cpu": 256,
        "memory": 512,
        "read_only": True,
        "restart": "unless-stopped",
        "network": f"deployer-ldtest.{stack.stack}",
    }
    assert hashlib.sha256(json.dumps(unkeyed_spec, sort_keys=True).encode()).hexdigest()[:16] not in hashes

    key = secret_key.key_path()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == secret_key.KEY_BYTES

    monkeypatch.setenv(SECRET, "a new token")
    stack.up()
    assert {row[docker_labels.SPEC_HASH] for row in labels(stack)} != hashes, "a new secret value replaces"
