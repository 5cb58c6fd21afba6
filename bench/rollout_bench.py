"""Rollout benchmark: a one-template change with ``deployer up --target local`` against
``docker-compose up -d --build``, side by side in one run, then ``deployer rollback``,
all under the same bounded load (4 client threads, one request at a time each).

For each round and tool: change ``personal_site/templates/home.html`` (a new marker in
the ``<h1>``), run the command, and note when a response first shows the marker ("served",
seconds after the command started), when the command returned, and how many requests
failed. After the rounds, ``deployer rollback`` goes back to the previous release (its
marker must come back) and ``deployer up`` deploys the working tree again.

Usage: ``.venv/bin/python bench/rollout_bench.py [--rounds 3] [--json results.json]``
(needs the Docker engine, python:3.12-slim and docker-compose).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from local_bench import COMPOSE_FILE, DEPLOYER, TEMPLATE, Load, clean_up, report, run, wait_for, workspace

STACK, PROJECT = "rbench", "deployerrbench"


def timed(command: list[str], env: dict[str, str], url: str, marker: str, log: Path) -> dict[str, object]:
    """Run ``command`` under load until ``url`` serves ``marker``; timings and failures."""
    with Load(url, marker) as load:
        time.sleep(1)
        load.start_clock()
        with log.open("a") as out:
            out.write(f"\n$ {' '.join(command)}\n")
            out.flush()
            subprocess.run(command, env=env, check=True, stdout=out, stderr=out)
        returned = time.monotonic() - load.started
        wait_for(url, marker)
        time.sleep(1)
    return {
        "served_s": round(load.first_seen or float("nan"), 2),
        "returned_s": round(returned, 2),
        "requests": load.ok + sum(load.failed.values()),
        "failed": sum(load.failed.values()),
        "failures": dict(load.failed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="at least 2: the rollback goes to the round before")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2: the rollback goes back to deployer's round before the last")

    work, site, config, env, ours_port, compose_port = workspace("deployer-rbench-", "rbenchsite")
    base = [DEPLOYER, "--target", "local", "--stack", STACK, "--config", str(config)]
    ours = [DEPLOYER, "up", *base[1:]]
    rollback = [DEPLOYER, "rollback", *base[1:]]
    compose = ["docker-compose", "-p", PROJECT, "-f", str(COMPOSE_FILE), "up", "-d", "--build"]
    page = site / TEMPLATE
    original = page.read_text()
    log = work / "output.log"
    results: dict[str, object] = {
        "commands": {"deployer": " ".join(ours), "compose": " ".join(compose), "rollback": " ".join(rollback)}
    }
    rounds: dict[str, list[dict[str, object]]] = {"deployer up": [], "docker-compose up -d --build": []}
    try:
        run(ours, env)
        run(compose, env)
        wait_for(f"http://127.0.0.1:{compose_port}/", "")
        markers: list[str] = []
        last = ""
        for index in range(args.rounds):
            for name, command, port in (
                ("deployer up", ours, ours_port),
                ("docker-compose up -d --build", compose, compose_port),
            ):
                marker = f"rev-{index}-{time.time_ns()}"
                page.write_text(original.replace("</h1>", f" {marker}</h1>", 1))
                last = marker
                if name == "deployer up":
                    markers.append(marker)
                rounds[name].append(timed(command, env, f"http://127.0.0.1:{port}/", marker, log))
                print(name, rounds[name][-1], file=sys.stderr)
        results["rounds"] = rounds
        results["rollback"] = timed(rollback, env, f"http://127.0.0.1:{ours_port}/", markers[-2], log)
        print("rollback", results["rollback"], file=sys.stderr)
        results["up_after_rollback"] = timed(ours, env, f"http://127.0.0.1:{ours_port}/", last, log)
        summary = {}
        for name, runs in rounds.items():
            summary[name] = {
                "served_median_s": statistics.median(r["served_s"] for r in runs),
                "returned_median_s": statistics.median(r["returned_s"] for r in runs),
                "failed_total": sum(r["failed"] for r in runs),
                "requests_total": sum(r["requests"] for r in runs),
            }
        ratio = summary["deployer up"]["served_median_s"] / summary["docker-compose up -d --build"]["served_median_s"]
        summary["served_ratio"] = round(ratio, 2)
        results["summary"] = summary
        results["deployer_output"] = log.read_text()
    finally:
        clean_up([DEPLOYER, "down", "--images", *base[1:]], PROJECT, COMPOSE_FILE, env, work)
    report(results, args.json, shown={k: v for k, v in results.items() if k != "deployer_output"})


if __name__ == "__main__":
    main()
