"""Which release is current, which one a plain ``rollback`` goes back to, and in what
order ``rollback`` checks, reads and rolls out."""

from __future__ import annotations

from contextlib import contextmanager

from deployer import api
from deployer.errors import DeployFailed
from deployer.image import KEEP_IMAGES
from deployer.models import Image
from deployer.plugin_manager import get_plugin_manager
from deployer.releases import FAILED, ROLLBACK_DEPTH, Release, current, previous, rollback_note
from deployer.testing import write_project

from .memory_target import MemoryDriver, MemoryTarget


def _r(number: int, image: str, config: str = "c1") -> Release:
    return Release(number=number, image=f"deployer/a:{image}", image_id=image, config_hash=config, created="t")


def test_current_is_the_newest_deployed_and_previous_skips_failed_and_identical_ones():
    history = [_r(1, "x"), _r(2, "y"), _r(3, "y"), Release(4, "deployer/a:z", "z", "c1", "t", status=FAILED)]
    assert current(history).number == 3
    assert previous(history).number == 1, "2 ran the same image and config as 3; 4 failed"
    assert previous([_r(1, "x")]) is None and current([]) is None


def test_a_release_that_differs_only_by_its_config_is_not_one_to_go_back_to():
    """A rollback runs the release's image with the current config: going back to a
    release of the serving image changes nothing (a plain rollback did just that, and
    again on every repeat)."""
    assert previous([_r(1, "x", config="c1"), _r(2, "x", config="c2")]) is None
    assert previous([_r(1, "w"), _r(2, "x", config="c1"), _r(3, "x", config="c2")]).number == 1


def test_a_rollback_release_names_the_release_it_went_back_to():
    assert Release(5, "deployer/a:x", "x", "c1", "t", note=rollback_note(2)).rolled_back_to == 2
    assert _r(5, "x").rolled_back_to is None
    assert Release(5, "deployer/a:x", "x", "c1", "t", note="rollback to two").rolled_back_to is None


def test_rollback_depth_agrees_with_the_images_builds_keep():
    assert ROLLBACK_DEPTH == KEEP_IMAGES - 1 >= 1


class _Recording(MemoryDriver):
    """A memory driver with releases, rollback and a lock, recording the order of calls."""

    def __init__(self, target: MemoryTarget, events: list[str]):
        super().__init__(target)
        self.events = events

    def preflight(self, ctx):
        self.events.append("preflight")

    @contextmanager
    def lock(self, ctx):
        self.events.append("lock")
        yield
        self.events.append("unlock")

    def releases(self, ctx):
        self.events.append("releases")
        return [_r(1, "x"), _r(2, "y")]

    def rollback_image(self, ctx, release):
        self.events.append(f"image of {release.number}")
        return Image("deployer/rolled", release.image_id, id="sha256:" + "1" * 64, user="10001")

    def up(self, ctx, phases):
        self.events.append(f"up {ctx.image.content_hash}")
        return super().up(ctx, phases)


def test_rollback_checks_first_then_reads_the_releases_and_rolls_out_under_the_stacks_lock(tmp_path):
    events: list[str] = []
    target = MemoryTarget()
    target.make_driver = lambda: _Recording(target, events)
    config = write_project(tmp_path, app={"name": "rolled"})
    session = api.open_session(target="memory", config=config, pm=get_plugin_manager(extra=[("memory", target)]))
    api.rollback(session)
    assert events == ["preflight", "lock", "releases", "image of 1", "up x", "unlock"]


class _Unlisted(MemoryDriver):
    """A memory driver whose releases cannot be read after its ``up`` (an engine that
    stopped answering)."""

    def releases(self, ctx):
        raise DeployFailed("the engine stopped answering")


def test_up_that_cannot_list_the_releases_after_deploying_prunes_nothing_and_succeeds(tmp_path, monkeypatch):
    """From the review: the releases are read after a deploy to protect the images a
    rollback needs from pruning; when they could not be read, the error ended an ``up``
    that had deployed. Now nothing is pruned (no image can be known safe) and ``up``
    returns the deployment."""
    built = Image("deployer/pruned", "a" * 16, id="sha256:" + "2" * 64, user="10001", built=True)
    pruned: list[str] = []
    monkeypatch.setattr(api, "build_image", lambda app, **kwargs: built)
    monkeypatch.setattr(api, "prune_images", lambda app, **kwargs: pruned.append(app) or [])
    config = write_project(tmp_path, app={"name": "pruned"})
    listed, unlisted = MemoryTarget(), MemoryTarget()
    unlisted.make_driver = lambda: _Unlisted(unlisted)
    api.up(api.open_session(target="memory", config=config, pm=get_plugin_manager(extra=[("memory", listed)])))
    assert pruned == ["pruned"], "a build is followed by pruning when the releases can be read"

    session = api.open_session(target="memory", config=config, pm=get_plugin_manager(extra=[("memory", unlisted)]))
    assert api.up(session).endpoint
    assert pruned == ["pruned"], "and by none when they cannot"
