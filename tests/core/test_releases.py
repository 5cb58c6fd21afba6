"""Which release is current and which one a plain ``rollback`` goes back to."""

from __future__ import annotations

from deployer.image import KEEP_IMAGES
from deployer.releases import FAILED, ROLLBACK_DEPTH, Release, current, previous


def _r(number: int, image: str, config: str = "c1") -> Release:
    return Release(number=number, image=f"deployer/a:{image}", image_id=image, config_hash=config, created="t")


def test_current_is_the_newest_deployed_and_previous_skips_failed_and_identical_ones():
    history = [_r(1, "x"), _r(2, "y"), _r(3, "y"), Release(4, "deployer/a:z", "z", "c1", "t", status=FAILED)]
    assert current(history).number == 3
    assert previous(history).number == 1, "2 ran the same image and config as 3; 4 failed"
    assert previous([_r(1, "x")]) is None and current([]) is None


def test_a_config_change_alone_is_a_release_to_go_back_to():
    assert previous([_r(1, "x", config="c1"), _r(2, "x", config="c2")]).number == 1


def test_rollback_depth_agrees_with_the_images_builds_keep():
    assert ROLLBACK_DEPTH == KEEP_IMAGES - 1 >= 1
