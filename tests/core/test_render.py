"""The plan renderer knows no target: a plan with a root is a tree under it, one
without is a flat list; the summary counts every row."""

from __future__ import annotations

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


def test_degraded_is_computed_from_healthy_and_desired():
    status = Status(target="t", stack="s", deployed=True, healthy=1, desired=2)
    assert status.degraded and "deployer up --target t --stack s" in status.advice
    assert evolve(status, healthy=2).degraded is False and evolve(status, healthy=2).advice == ""
    assert not Status(target="t", stack="s", deployed=False, desired=2).degraded, "nothing deployed is not degraded"
    assert (
        Status(target="t", stack="s", deployed=True, healthy=0, desired=1, advice="restart it").advice == "restart it"
    )
