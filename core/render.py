"""Human-readable output of the CLI (stdout). ``--json`` bypasses all of this."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape

from deployer.models import Change, Plan, Status

SYMBOLS = {"create": "+", "replace": "+-", "update": "~", "remove": "-", "unchanged": " "}


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader left: raise, for the CLI to end as a tool whose reader left does
        (rich's own way exits 1, which says the deployment failed)."""
        self.quiet = True
        raise BrokenPipeError


def _console() -> Console:
    return _Console(highlight=False, soft_wrap=True)


def print_plan(plan: Plan) -> None:
    """A resource tree in the style of ``pulumi preview``: one row per change, under the
    plan's root row when it has one (:attr:`Plan.root`), an update or replace followed by
    the fields that changed (``replace (image, env names)``). Counts include the root."""
    console = _console()
    rows = _tree(plan.root, plan.changes)
    counts = Counter(change.action for _, change in rows)
    summary = ", ".join(f"{n} to {action}" for action, n in counts.items() if action != "unchanged")
    console.print(
        f"[bold]Plan for {plan.target}/{plan.stack}[/bold]: {summary or 'no changes'}"
        + (f" ({counts['unchanged']} unchanged)" if counts["unchanged"] else "")
    )
    width = max((len(label) for label, _ in rows), default=0)
    names = max((len(change.name) for _, change in rows), default=0)
    if rows:
        console.print(f"[dim]    {'Type':<{width}}  {'Name':<{names}}  Plan[/dim]")
    for label, change in rows:
        detail = f"  [dim]{escape(change.detail)}[/dim]" if change.detail else ""
        fields = f" ({escape(', '.join(change.fields))})" if change.fields else ""
        console.print(
            f" {SYMBOLS[change.action]:<2} {escape(label):<{width}}  "
            f"{escape(change.name):<{names}}  [dim]{change.action}[/dim]{fields}{detail}"
        )
    for key, value in plan.outputs.items():
        # lists, numbers, true/false as --json shows them
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        console.print(f"    [dim]output[/dim] {escape(str(key))}: {escape(shown)}")


def _tree(root: Change | None, changes: tuple[Change, ...]) -> list[tuple[str, Change]]:
    """``(type column, change)`` rows: the root, then the changes as its branches (or
    a flat list when there is no root)."""
    if root is None:
        return [(change.kind, change) for change in changes]
    return [(root.kind, root)] + [
        (("└─ " if index == len(changes) - 1 else "├─ ") + change.kind, change) for index, change in enumerate(changes)
    ]


def print_status(status: Status) -> None:
    """One summary line (``DEGRADED`` when fewer replicas are healthy than desired, then
    what to run; the endpoint when there is one), the notice when there is one, then the
    image and each detail (lists of records one per line; an empty list is left out,
    ``--json`` has it)."""
    if not status.deployed:
        print(f"{status.target}/{status.stack}: not deployed")
        return
    state = "DEGRADED: " if status.degraded else ""
    where = f" at {status.endpoint}" if status.endpoint else ", no endpoint"
    print(f"{status.target}/{status.stack}: {state}{status.healthy}/{status.desired} healthy{where}")
    if status.degraded:
        print(f"  {status.advice}")
    if status.notice:
        print(f"  {status.notice}")
    if status.image:
        print(f"  image: {status.image}")
    for key, value in status.details.items():
        if isinstance(value, (list, tuple)) and all(isinstance(item, Mapping) for item in value):
            if not value:
                continue
            print(f"  {key}:")
            for item in value:
                print("    - " + ", ".join(f"{k}: {v}" for k, v in item.items()))
        else:
            print(f"  {key}: {value}")


def print_verify(report: Any) -> None:
    for line in report.lines():
        print(line)
    passed = len(report.results) - len(report.failures)
    print(f"{passed} of {len(report.results)} checks passed against {report.target}")


def print_targets(listing: dict[str, Any]) -> None:
    console = _console()
    for target in listing["targets"]:
        state = (
            "[green]available[/green]"
            if target["available"]
            else (f"[yellow]unavailable[/yellow]: install with [bold]{escape(target['install_hint'] or '')}[/bold]")
        )
        console.print(
            f"[bold]{escape(target['name'])}[/bold] ({escape(target['plugin'])}): "
            f"{escape(target['description'])} - {state}"
        )
        for phase, what in target["phases"].items():
            console.print(f"    {phase:<9} {escape(what)}")
        console.print(f"    {'also runs':<9} {escape(', '.join(target['runs']) or 'the web service only')}")
    for failure in listing["load_failures"]:
        console.print(f"[red]{escape(failure)}[/red]")


def print_releases(releases: list[Any]) -> None:
    """``deployer releases``: one line per release, newest first."""
    console = _console()
    if not releases:
        console.print("no release recorded yet: run `deployer up`")
        return
    header = ("", "#", "status", "recorded (UTC)", "by", "image", "config", "note")
    rows = [
        (
            "*" if r.current else "",
            str(r.number),
            r.status,
            r.created,
            r.by or "-",
            r.image if r.image_present is not False else f"{r.image} (image removed)",
            r.config_hash,
            r.note,
        )
        for r in reversed(releases)
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:  # "#" right-aligned, the rest left; no trailing spaces
        return "  ".join(
            c.rjust(w) if i == 1 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    console.print(f"[dim]{escape(line(header))}[/dim]")
    for row in rows:
        console.print(escape(line(row)))
