"""PhaseContext.hide_secrets: the secrets' values out of the app's output that deployer
shows again (a failed replica's lines, a release command's)."""

from __future__ import annotations

from pathlib import Path

from deployer.models import SECRET_SHOWN_MIN, AppSpec, BuildSpec, PhaseContext, TargetConfig


def _ctx(secrets: dict[str, str]) -> PhaseContext:
    app = AppSpec("web", BuildSpec(Path(".")), secrets=tuple(secrets))
    return PhaseContext(app=app, target=TargetConfig("local", {}), stack="dev", project_dir=Path("."), secrets=secrets)


def test_every_value_is_hidden_the_longest_first_and_names_stay():
    ctx = _ctx({"TOKEN": "s3cr3t", "LONGER": "s3cr3t-and-more", "DB_PASSWORD": "pa55word"})
    shown = ctx.hide_secrets("TOKEN=s3cr3t LONGER=s3cr3t-and-more\ndb: pa55word, pa55word")
    assert shown == "TOKEN=*** LONGER=***\ndb: ***, ***"


def test_a_value_too_short_to_guard_anything_is_left_alone():
    short = "x" * (SECRET_SHOWN_MIN - 1)
    assert _ctx({"PIN": short}).hide_secrets(f"pin {short}, box {short}x") == f"pin {short}, box {short}x"
    assert _ctx({"PIN": short + "y"}).hide_secrets(f"pin {short}y") == "pin ***"
    assert _ctx({"EMPTY": ""}).hide_secrets("nothing to hide") == "nothing to hide"
