"""A replica's fingerprint and the fields a plan names, without an engine."""

from __future__ import annotations

import json

import pytest
from attrs import evolve

from deployer import docker_labels
from deployer.models import AppSpec, BuildSpec, PhaseContext, TargetConfig
from deployer.plugins.local_docker import compute, secret_key
from deployer.plugins.local_docker.settings import LocalSettings

SETTINGS = LocalSettings()
IMAGE = "sha256:" + "1" * 64


@pytest.fixture
def ctx(tmp_path, monkeypatch) -> PhaseContext:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    app = AppSpec(name="web", build=BuildSpec(context=tmp_path), env={"MODE": "a"}, secrets=("TOKEN",))
    return PhaseContext(
        app=app, target=TargetConfig("local", SETTINGS), stack="dev", project_dir=tmp_path, secrets={"TOKEN": "s1"}
    )


def row(ctx: PhaseContext) -> dict:
    fields = compute.fingerprint(ctx, IMAGE, SETTINGS)
    return {"Labels": {docker_labels.SPEC_FIELDS: json.dumps(fields)}, "ImageID": IMAGE}


def changed(before: PhaseContext, after: PhaseContext, image: str = IMAGE) -> tuple[str, ...]:
    return compute.changed_fields(compute.fingerprint(after, image, SETTINGS), row(before))


def test_each_kind_of_change_is_named(ctx):
    app = ctx.app
    assert changed(ctx, ctx) == ()
    assert changed(ctx, ctx, image="sha256:" + "2" * 64) == ("image",)
    assert changed(ctx, evolve(ctx, secrets={"TOKEN": "s2"})) == ("secret values",)
    assert changed(ctx, evolve(ctx, app=evolve(app, env={"MODE": "b"}))) == ("env values",)
    assert changed(ctx, evolve(ctx, app=evolve(app, env={"MODE": "a", "NEW": "1"}))) == ("env names",)
    moved = evolve(ctx, app=evolve(app, env={}, secrets=("MODE", "TOKEN")), secrets={"TOKEN": "s1", "MODE": "a"})
    assert changed(ctx, moved) == ("env names",), "an env variable that became a secret"
    bigger = evolve(ctx, app=evolve(app, cpu=512, memory=1024, port=9000, command=("serve",)))
    assert changed(ctx, bigger) == ("port", "command", "cpu", "memory")


def test_a_replica_without_the_label_is_compared_on_its_image(ctx):
    old = {"Labels": {}, "ImageID": "sha256:" + "0" * 64}
    assert compute.changed_fields(compute.fingerprint(ctx, IMAGE, SETTINGS), old) == ("image",)
    assert compute.changed_fields(compute.fingerprint(ctx, IMAGE, SETTINGS), {**old, "ImageID": IMAGE}) == ()


def test_plan_reads_no_key_and_up_makes_one(ctx):
    planned = compute.fingerprint(evolve(ctx, mode="plan"), IMAGE, SETTINGS)
    assert planned["secret values"] == {"TOKEN": secret_key.NO_KEY}
    assert not secret_key.key_path().exists()
    made = compute.fingerprint(ctx, IMAGE, SETTINGS)
    assert made["secret values"]["TOKEN"] not in ("s1", secret_key.NO_KEY)
    assert compute.fingerprint(ctx, IMAGE, SETTINGS) == made, "one key: the same fingerprint every time"
    assert compute.fingerprint(evolve(ctx, mode="plan"), IMAGE, SETTINGS) == made
    assert not any("s1" in json.dumps(value) for value in made.values())


def test_the_key_and_the_locks_live_in_private_folders_whatever_the_umask(tmp_path, monkeypatch):
    """The state folder is 0700 (the key 0600 in it), made so under a 022 umask and
    tightened when an earlier version made it 0755."""
    import os
    import stat

    from deployer.plugins.local_docker.lock import stack_lock

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    (tmp_path / "state" / "deployer").mkdir(parents=True, mode=0o755)
    previous = os.umask(0o022)
    try:
        secret_key.load_key(create=True)
        with stack_lock("web", "dev", timeout=1, report=lambda line: None):
            pass
    finally:
        os.umask(previous)

    def mode(path):
        return stat.S_IMODE(path.stat().st_mode)

    folder = tmp_path / "state" / "deployer"
    assert (mode(folder), mode(folder / "locks"), mode(secret_key.key_path())) == (0o700, 0o700, 0o600)


def test_a_state_folder_or_key_deployer_cannot_use_is_an_environment_problem(tmp_path, monkeypatch):
    """From the hostile-input run: XDG_STATE_HOME naming a file was a FileExistsError, a
    folder where the key belongs an IsADirectoryError (exit 1); a key open to every user
    was used without a word."""
    from deployer.errors import EnvironmentProblem

    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "a-file"))
    with pytest.raises(EnvironmentProblem, match=r"state folder cannot be used: .*a-file.*set XDG_STATE_HOME"):
        secret_key.fingerprints({"S": "v"}, create=True)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    secret_key.key_path().mkdir(parents=True)
    with pytest.raises(EnvironmentProblem, match="the secret key is not a file"):
        secret_key.fingerprints({"S": "v"}, create=True)
    secret_key.key_path().rmdir()
    secret_key.fingerprints({"S": "v"}, create=True)
    secret_key.key_path().chmod(0o644)
    with pytest.raises(EnvironmentProblem, match=r"open to other users \(mode 0644\): chmod 600 it"):
        secret_key.fingerprints({"S": "v"}, create=True)


def test_a_home_folder_that_does_not_exist_is_not_made(tmp_path, monkeypatch):
    """``HOME=/nonexistent`` (system users, CI runners) with no XDG_STATE_HOME: deployer
    said nothing and, as root, made the home folder to keep its state there. Now the
    state folder is refused, naming the home folder; the user cache is skipped."""
    from deployer import user_cache
    from deployer.errors import EnvironmentProblem
    from deployer.user_folders import make_folder

    home = tmp_path / "nonexistent"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    with pytest.raises(EnvironmentProblem) as caught:
        secret_key.fingerprints({"S": "v"}, create=True)
    assert str(caught.value) == (
        f"deployer's state folder cannot be used: {home}: the home folder does not exist; set XDG_STATE_HOME "
        f"to a folder you can write (now unset: {home / '.local' / 'state'})"
    )
    with pytest.raises(FileNotFoundError):
        make_folder(user_cache.folder("image-uids"))
    assert not home.exists()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    secret_key.fingerprints({"S": "v"}, create=True)
    assert not home.exists()


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_lock_file_that_cannot_be_one_is_an_environment_problem(tmp_path, monkeypatch, kind):
    """From the fault run: a folder where the lock file belongs was an IsADirectoryError and
    a FIFO an EINVAL with no path, both reported as unexpected errors (exit 1)."""
    import os

    from deployer.errors import EnvironmentProblem
    from deployer.plugins.local_docker.lock import lock_path, stack_lock

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = lock_path("web", "dev")
    path.parent.mkdir(parents=True)
    path.mkdir() if kind == "folder" else os.mkfifo(path)
    with pytest.raises(EnvironmentProblem) as caught, stack_lock("web", "dev", timeout=1, report=print):
        pass
    assert str(path) in str(caught.value) and caught.value.exit_code == 2, caught.value


def test_a_relative_xdg_folder_is_ignored_as_the_spec_says(tmp_path, monkeypatch):
    """From the fault run: ``XDG_STATE_HOME=relative/dir`` was taken from the current
    folder, so two runs from two folders took two locks of one stack. The XDG spec says
    to ignore a relative value; a file where the folder belongs is said so."""
    from deployer import user_cache
    from deployer.errors import EnvironmentProblem
    from deployer.plugins.local_docker import user_state

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", "relative/dir")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert user_state.folder() == tmp_path / "home" / ".local" / "state" / "deployer"
    assert user_cache.folder("x") == tmp_path / "home" / ".cache" / "deployer" / "x"
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "a-file"))
    with pytest.raises(EnvironmentProblem, match="a file is there, not a folder"):
        secret_key.fingerprints({"S": "v"}, create=True)
