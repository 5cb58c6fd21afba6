"""Releases and rollback on aws-ecs, through the emulated driver (the production release
code, :mod:`deployer.plugins.aws_ecs.releases`, against moto's ECS and ECR) and the core's
``api.releases`` / ``api.rollback``: no build, no local image store."""

from __future__ import annotations

import pytest
from attrs import evolve

from deployer import api
from deployer.errors import UsageError
from deployer.lifecycle import phase_runner
from deployer.models import Image
from deployer.plugins.aws_ecs import releases as aws_releases
from deployer.plugins.aws_ecs.settings import KEEP_IMAGES, parse_settings
from deployer.testing.aws_ecs.emulated_driver import EmulatedDriver
from deployer.testing.recorder import LineReporter

from .test_emulated import app, moto, pm  # noqa: F401  (module fixtures)

FIRST = Image("deployer/web", "1111aaaa", "sha256:" + "a1" * 32, user="app")
SECOND = Image("deployer/web", "2222bbbb", "sha256:" + "b2" * 32, user="app")


@pytest.fixture
def session(app, pm, tmp_path):  # noqa: F811
    """A project deploying app ``app`` to the emulated aws-ecs, two releases deployed
    (FIRST, then SECOND with another image), without building: the driver's ``up`` is
    given each image directly."""
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\n")
    (tmp_path / "deployer.toml").write_text(
        f'[app]\nname = "{app}"\nport = 8000\n'
        '[app.health]\npath = "/healthz"\n[targets.aws-ecs]\nregion = "us-east-1"\n'
    )
    pm.use_driver("aws-ecs", EmulatedDriver)
    reporter = LineReporter()
    opened = api.open_session(target="aws-ecs", config=tmp_path / "deployer.toml", pm=pm, reporter=reporter)
    driver = opened.driver()
    for image in (FIRST, SECOND):
        driver.up(evolve(opened.context("up"), image=image), phase_runner(pm))
    reporter.lines.clear()
    return opened


def _service_image(moto, outputs) -> str:  # noqa: F811
    ecs = moto.client("ecs")
    (service,) = ecs.describe_services(cluster=outputs["cluster"], services=[outputs["service"]])["services"]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    return definition["containerDefinitions"][0]["image"]


def test_two_ups_are_two_releases_read_from_ecs_and_ecr(session):
    listed = api.releases(session)
    assert [r.status for r in listed] == ["deployed", "deployed"]
    first, second = listed
    assert second.number > first.number and second.current and not first.current
    assert ".dkr.ecr." in first.image and "@sha256:" in first.image
    assert first.image_id.startswith("sha256:") and first.image_id != second.image_id
    assert first.image_present and second.image_present
    assert first.config_hash == second.config_hash, "only the image changed"
    assert "@" in first.by and first.created.startswith("20")


def test_releases_are_read_from_the_account_not_the_checkout(session, tmp_path):
    """Another checkout (another project dir, no emulated state) of the same app and
    stack lists the same releases: they live in ECS."""
    other = tmp_path / "other"
    other.mkdir()
    for name in ("deployer.toml", "Dockerfile"):
        (other / name).write_text((tmp_path / name).read_text())
    elsewhere = api.open_session(target="aws-ecs", config=other / "deployer.toml", pm=session.pm)
    mine, theirs = api.releases(session), api.releases(elsewhere)
    assert [(r.number, r.image) for r in theirs] == [(r.number, r.image) for r in mine]
    assert not any(r.current for r in theirs), "without the stack's state, no service is known to serve"
    with pytest.raises(UsageError, match="has no Pulumi state here"):
        api.rollback(elsewhere)


def test_rollback_runs_the_first_digest_again_without_building(session, moto, monkeypatch):  # noqa: F811
    first, second = api.releases(session)
    monkeypatch.setattr(api, "build", _no_build)
    deployment = api.rollback(session)
    assert _service_image(moto, deployment.outputs) == first.image
    assert deployment.outputs["image_id"] == FIRST.id, "the release recorded its image's local ID"
    after = api.releases(session)
    newest = after[-1]
    assert (newest.image, newest.note, newest.current) == (first.image, f"rollback to {first.number}", True)
    assert newest.number > second.number
    lines = session.reporter.lines
    assert any(f"rolling back to release {first.number}" in line and "no build" in line for line in lines)
    assert not any("create docker:index/registryImage" in line for line in lines), "nothing pushed"
    assert any("delete docker:index/registryImage" in line for line in lines), "the push resources go (kept in ECR)"
    assert any("create aws:ecs/taskDefinition:TaskDefinition" in line for line in lines)


def test_up_after_a_rollback_says_it_deploys_the_working_tree_again(session, pm):  # noqa: F811
    api.rollback(session)
    rolled = api.releases(session)[-1]
    session.reporter.lines.clear()
    session.driver().up(evolve(session.context("up"), image=SECOND), phase_runner(pm))
    newest = api.releases(session)[-1]
    assert newest.note == "" and newest.current
    expected = f"release {newest.number}: deployed the working tree again (replacing release {rolled.number}"
    assert any(line.startswith(expected) for line in session.reporter.lines), session.reporter.lines


def test_an_image_pushed_before_is_deployed_again_without_a_push(session, moto):  # noqa: F811
    """FIRST, SECOND, then FIRST again (the code went back; the same image ID, so the same
    tag): ECR holds that tag already, and an immutable repository refuses a second push of
    it even with the same digest. The up pushes nothing and runs FIRST's digest; then an
    up of a new image pushes again."""
    first, _ = api.releases(session)
    driver = session.driver()
    deployment = driver.up(evolve(session.context("up"), image=FIRST), phase_runner(session.pm))
    assert _service_image(moto, deployment.outputs) == first.image
    assert deployment.outputs["image_id"] == FIRST.id
    lines = session.reporter.lines
    assert any("is in ECR already: not pushing it again" in line for line in lines), lines
    third = Image("deployer/web", "3333cccc", "sha256:" + "c3" * 32, user="app")
    deployment = driver.up(evolve(session.context("up"), image=third), phase_runner(session.pm))
    assert _service_image(moto, deployment.outputs) not in (first.image, api.releases(session)[1].image)


def test_rollback_refused_when_its_image_is_gone_from_ecr(session, moto):  # noqa: F811
    first, _ = api.releases(session)
    repository = first.image.split("@")[0].split("/", 1)[1]
    moto.client("ecr").batch_delete_image(repositoryName=repository, imageIds=[{"imageDigest": first.image_id}])
    assert [r.image_present for r in api.releases(session)] == [False, True]
    with pytest.raises(UsageError, match=f"release {first.number} cannot be rolled back to: its image .* is no longer"):
        api.rollback(session)
    assert [r.number for r in api.releases(session)] == [first.number, first.number + 1], "nothing deployed"


def test_a_revision_the_service_never_took_is_a_failed_release(session, moto):  # noqa: F811
    """What a failed rollout leaves (a circuit-breaker rollback, an `up` killed midway): a
    revision newer than the one the service runs. Listed failed, tagged so by the
    driver's `mark_failed`, and skipped by a plain `rollback`."""
    first, second = api.releases(session)
    ecs = moto.client("ecs")
    running = ecs.describe_task_definition(
        taskDefinition=f"{aws_releases.family(session.context('up'))}:{second.number}"
    )
    kept = ("family", "containerDefinitions", "cpu", "memory", "networkMode", "requiresCompatibilities")
    ecs.register_task_definition(**{k: v for k, v in running["taskDefinition"].items() if k in kept})
    assert [(r.status, r.current) for r in api.releases(session)] == [
        ("deployed", False),
        ("deployed", True),
        ("failed", False),
    ]
    aws_releases.mark_failed(ecs, session.context("up"), _outputs(session))
    failed = api.releases(session)[-1]
    assert (failed.status, "@" in failed.by) == ("failed", True), "tagged by mark_failed"
    deployment = api.rollback(session)
    assert _service_image(moto, deployment.outputs) == first.image


def test_lifecycle_policy_and_rollback_depth_are_one_number():
    settings = parse_settings({}, "targets.aws-ecs")
    assert settings.keep_images == KEEP_IMAGES
    assert aws_releases.rollback_depth(settings.keep_images) == KEEP_IMAGES - 1 >= 1


def _outputs(session):
    from deployer.testing.aws_ecs.emulated_state import load

    return load(session.context("status")).outputs


def _no_build(*_args, **_kwargs):
    raise AssertionError("rollback must not build")
