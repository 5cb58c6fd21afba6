"""The plan renderer knows no target: a plan with a root is a tree under it, one
without is a flat list; the summary counts every row."""

from __future__ import annotations

from deployer.models import Change, Plan
from deployer.render import print_plan

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
