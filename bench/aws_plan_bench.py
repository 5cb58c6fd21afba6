"""Offline plan benchmark: deployer's aws-ecs plan vs the tutorial's program, same mocks.

Runs, side by side in one invocation, each variant in a fresh subprocess ``--runs`` times
(median wall time and peak RSS, from ``os.wait4``):

- ``deployer-cli``: ``deployer plan --target aws-ecs --offline --json`` on the repo's
  deployer.toml (CLI start-up, config, image resolution, the four phases, rendering);
- ``deployer-api``: the same plan through the library (``deployer.api.plan``, which also
  asks the Docker engine for the image ID);
- ``aws-ecs-driver``: the target's own share: the session, then the aws-ecs driver's
  offline plan, with the image named from its content hash (no Docker lookup);
- ``tutorial``: bench/aws_plan_tutorial.py under the very same mocks (``offline.record``).

Then, for the library variants, the median of 5 further plans in one warm process (all
modules imported): the cost of planning the stack itself. Last, the budget: the CLI's
median wall time at most ``BUDGET_WALL`` times the tutorial's, and its median peak RSS at
most the tutorial's, printed as met or NOT met.

Usage: ``python bench/aws_plan_bench.py [--runs 5] [--json results.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deployer.toml"
BUDGET_WALL = 1.3
"""The CLI's offline plan may take at most this many times the tutorial's program."""


def child(variant: str, warm_runs: int) -> None:
    """Run one plan in this process, then ``warm_runs`` more (every module already
    imported); print the resource count and the median warm plan time as JSON."""
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)
    run = _planner(variant)
    resources = run()
    warm = []
    for _ in range(warm_runs):
        started = time.perf_counter()
        run()
        warm.append(time.perf_counter() - started)
    print(json.dumps({"resources": resources, "warm_s": statistics.median(warm) if warm else None}))


def _planner(variant: str):
    """A zero-argument function planning ``variant`` once and returning its resource count."""
    if variant == "tutorial":
        sys.path.insert(0, str(ROOT / "bench"))
        import aws_plan_tutorial

        from deployer.plugins.aws_ecs import offline

        return lambda: len(
            offline.record(aws_plan_tutorial.program, project="tutorial", stack="dev", region="us-east-1")[0]
        )
    from deployer import api

    session = api.open_session(target="aws-ecs", stack="dev", config=CONFIG)
    if variant == "deployer-api":
        return lambda: len(api.plan(session, offline=True).resources)
    from attrs import evolve

    from deployer.image import content_hash, repository
    from deployer.lifecycle import phase_runner
    from deployer.models import Image

    app = session.project.app
    ctx = evolve(session.context("plan"), image=Image(repository(app), content_hash(app.build)))
    driver = session.driver()
    return lambda: len(driver.plan(ctx, phase_runner(session.pm), offline=True).resources)


COMMANDS = {
    "deployer-cli": [
        str(Path(sys.executable).parent / "deployer"),
        "plan",
        "--target",
        "aws-ecs",
        "--offline",
        "--json",
        "--config",
        str(CONFIG),
    ],
    "deployer-api": [sys.executable, __file__, "--child", "deployer-api"],
    "aws-ecs-driver": [sys.executable, __file__, "--child", "aws-ecs-driver"],
    "tutorial": [sys.executable, __file__, "--child", "tutorial"],
}


def measure(command: list[str]) -> dict:
    """Wall seconds, peak RSS (MiB) and resource count of one subprocess run."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {proc.returncode}")
    result = json.loads(output)  # the plan from the CLI, a summary from a child
    resources = result["resources"]
    return {
        "wall_s": wall,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "warm_s": result.get("warm_s"),
        "resources": resources if isinstance(resources, int) else len(resources),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", choices=("deployer-api", "aws-ecs-driver", "tutorial"))
    parser.add_argument("--warm", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.warm)
        return
    samples: dict[str, list[dict]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):  # interleaved, so drift hits every variant alike
        for name, command in COMMANDS.items():
            samples[name].append(measure(command))
    warm = {
        name: measure([*command, "--warm", "5"])["warm_s"] for name, command in COMMANDS.items() if "--child" in command
    }
    results = {
        name: {
            "runs": len(runs),
            "resources": runs[0]["resources"],
            "wall_s_median": statistics.median(r["wall_s"] for r in runs),
            "wall_s_min": min(r["wall_s"] for r in runs),
            "peak_rss_mib_median": statistics.median(r["peak_rss_mib"] for r in runs),
            "warm_plan_s_median": warm.get(name),
        }
        for name, runs in samples.items()
    }
    print(f"{'variant':<16}{'resources':>10}{'median s':>10}{'min s':>8}{'peak MiB':>10}{'warm plan s':>13}")
    for name, r in results.items():
        warm = f"{r['warm_plan_s_median']:.3f}" if r["warm_plan_s_median"] is not None else "-"
        print(
            f"{name:<16}{r['resources']:>10}{r['wall_s_median']:>10.2f}{r['wall_s_min']:>8.2f}"
            f"{r['peak_rss_mib_median']:>10.0f}{warm:>13}"
        )
    cli, tutorial = results["deployer-cli"], results["tutorial"]
    budget = {
        "wall_ratio": cli["wall_s_median"] / tutorial["wall_s_median"],
        "wall_ratio_max": BUDGET_WALL,
        "peak_rss_mib": cli["peak_rss_mib_median"],
        "peak_rss_mib_max": tutorial["peak_rss_mib_median"],
    }
    budget["met"] = budget["wall_ratio"] <= BUDGET_WALL and budget["peak_rss_mib"] <= budget["peak_rss_mib_max"]
    print(
        f"budget: CLI wall {budget['wall_ratio']:.2f}x the tutorial's (at most {BUDGET_WALL}x), "
        f"peak RSS {budget['peak_rss_mib']:.0f} MiB (at most {budget['peak_rss_mib_max']:.0f}): "
        + ("met" if budget["met"] else "NOT met")
    )
    if args.json:
        args.json.write_text(json.dumps({**results, "budget": budget}, indent=2) + "\n")


if __name__ == "__main__":
    main()
