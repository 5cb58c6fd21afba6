"""The plan renderer knows no target: a plan with a root is a tree under it, one
without is a flat list; the summary counts every row."""

from __future__ import annotations

import re
from pathlib import Path

from attrs import evolve

from deployer.models import Change, Plan, Status
from deployer.render import print_plan, print_status

CHANGES = (Change("create", "network", "demo-dev"), Change("unchanged", "container", "demo-dev-1", "replica"))


def rendered(capsys, plan: Plan) -> list[str]:
    print_plan(plan)
    return capsys.readouterr().out.splitlines()


def test_a_plan_without_a_root_is_a_flat_list(capsys):
    lines = rendered(capsys, Plan(target="local", stack="dev", changes=CHANGES))
    assert lines[0] == "Plan for local/dev: 1 to create (1 unchanged)"
    assert [line.split()[:2] for line in lines[2:]] == [["+", "network"], ["container", "demo-dev-1"]]
    assert not any("─" in line for line in lines)


def test_a_plan_with_a_root_hangs_the_changes_from_it(capsys):
    root = Change("create", "platform:stack", "demo-dev")
    lines = rendered(capsys, Plan(target="other", stack="dev", changes=CHANGES, root=root))
    assert lines[0] == "Plan for other/dev: 2 to create (1 unchanged)"
    assert lines[2].split() == ["+", "platform:stack", "demo-dev", "create"]
    assert lines[3].startswith(" +  ├─ network") and lines[4].startswith("    └─ container")


def test_an_update_or_replace_shows_the_fields_that_change(capsys):
    changes = (
        Change("replace", "container", "demo-dev-a-1", "by demo-dev-b-1", fields=("image", "env names")),
        Change("update", "aws:ecs/service:Service", "web-service", fields=("taskDefinition",)),
    )
    lines = rendered(capsys, Plan(target="local", stack="dev", changes=changes))
    assert "demo-dev-a-1  replace (image, env names)  by demo-dev-b-1" in lines[2]
    assert lines[3].rstrip().endswith("update (taskDefinition)")


def test_a_degraded_status_says_so_and_what_to_run(capsys):
    print_status(Status(target="local", stack="dev", deployed=True, endpoint="http://x", healthy=1, desired=2))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "local/dev: DEGRADED: 1/2 healthy at http://x"
    assert (
        lines[1]
        == "  1 of 2 replicas not healthy: run `deployer up --target local --stack dev` to start the missing ones"
    )


def test_a_status_without_an_endpoint_says_so_and_a_notice_is_printed_degraded_or_not(capsys):
    print_status(Status(target="local", stack="dev", deployed=True, endpoint=None, healthy=0, desired=2))
    assert capsys.readouterr().out.splitlines()[0] == "local/dev: DEGRADED: 0/2 healthy, no endpoint"
    notice = "2 replica(s) beyond the 2: run `deployer up`"
    print_status(Status(target="t", stack="s", deployed=True, endpoint="http://x", healthy=2, desired=2, notice=notice))
    assert capsys.readouterr().out.splitlines()[:2] == ["t/s: 2/2 healthy at http://x", f"  {notice}"]


def test_degraded_is_computed_from_healthy_and_desired():
    status = Status(target="t", stack="s", deployed=True, healthy=1, desired=2)
    assert status.degraded and "deployer up --target t --stack s" in status.advice
    assert evolve(status, healthy=2).degraded is False and evolve(status, healthy=2).advice == ""
    assert not Status(target="t", stack="s", deployed=False, desired=2).degraded, "nothing deployed is not degraded"
    assert (
        Status(target="t", stack="s", deployed=True, healthy=0, desired=1, advice="restart it").advice == "restart it"
    )


def test_releases_line_up_under_their_header_newest_first(capsys):
    from deployer.releases import Release
    from deployer.render import print_releases

    old = Release(9, "deployer/web:0123456789abcdef", "sha256:1", "5fb0bbd4731d", "2026-11-30T06:07:01+00:00", "a@b")
    new = Release(10, "deployer/web:fedcba9876543210", "sha256:2", "0a1b2c3d4e5f", "2026-11-30T07:00:00+00:00")
    print_releases([old, evolve(new, by="someone@a-longer-host", current=True, note="rollback to 9")])
    header, first, second = capsys.readouterr().out.splitlines()
    at = header.index("#")  # numbers right-aligned under it
    assert (first[at - 1 : at + 1], second[at - 1 : at + 1]) == ("10", " 9"), (header, first, second)
    for column in ("status", "recorded (UTC)", "by", "image", "config", "note"):  # the others left-aligned
        at = header.index(column)
        for row in (first, second) if column != "note" else (first,):  # the old one has no note
            assert row[at - 1] == " " and row[at] != " ", (column, header, row)
    assert first.startswith("*  10  deployed") and second.startswith("    9  deployed")
    assert first.endswith("rollback to 9") and not second.endswith(" ")


def test_the_local_targets_releases_example_is_what_releases_prints(capsys):
    """docs/targets/local.md's ``deployer releases`` example, read back into releases
    (cell by cell under its header), prints exactly as the doc shows it; its image tags
    are whole (``deployer/<app>:<16 hex>``), as a local release's are."""
    from deployer.releases import Release
    from deployer.render import print_releases

    doc = (Path(__file__).parents[2] / "docs" / "targets" / "local.md").read_text()
    example = doc.split("$ deployer releases\n", 1)[1].split("```", 1)[0].splitlines()
    header, *rows = example
    starts = [header.index(column) for column in ("status", "recorded (UTC)", "by", "image", "config", "note")]
    releases = []
    for row in reversed(rows):
        status, created, by, image, config, note = (
            row[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)
        )
        assert re.fullmatch(r"deployer/[a-z0-9-]+:[0-9a-f]{16}", image), image
        number = int(row[: starts[0]].strip(" *"))
        releases.append(
            Release(number, image, "sha256:0", config, created, by, status, note, current=row.startswith("*"))
        )
    print_releases(releases)
    assert capsys.readouterr().out.splitlines() == example


def test_an_empty_list_of_records_is_left_out_of_the_status(capsys):
    status = Status(
        target="local",
        stack="dev",
        deployed=True,
        endpoint="http://127.0.0.1:8080",
        healthy=1,
        desired=1,
        details={"replicas": [{"name": "r-1", "state": "running"}], "standby": []},
    )
    print_status(status)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == ["  replicas:", "    - name: r-1, state: running"]


def test_plan_outputs_read_as_in_json_not_as_python(capsys):
    outputs = {"endpoint": "http://x", "subnets": ["a-id", "b-id"], "https": True}
    lines = rendered(capsys, Plan(target="local", stack="dev", changes=CHANGES, outputs=outputs))
    assert lines[-3:] == [
        "    output endpoint: http://x",
        '    output subnets: ["a-id", "b-id"]',
        "    output https: true",
    ]
