"""Side-by-side benchmark: ``deployer up --target local`` against ``docker-compose up -d``.

Runs both on a copy of website/ in one go and prints a Markdown table (and JSON with
``--json FILE``):

1. no-op re-run time: hyperfine, after warm-up, median of ``--runs`` runs;
2. a one-template change until the new version serves, with GET requests on 127.0.0.1
   from 4 threads during the whole rollout, counting failed requests.

Usage: ``.venv/bin/python bench/local_bench.py [--runs 10] [--json results.json]``
(needs the Docker engine, python:3.12-slim, hyperfine and docker-compose).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "bench" / "docker-compose.yml"
DEPLOYER = str(Path(sys.executable).with_name("deployer"))
STACK, PROJECT = "bench", "deployerbench"
TEMPLATE = Path("personal_site/templates/home.html")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(url: str, marker: str, timeout: float = 300) -> float:
    """Seconds until GET ``url`` answers 200 with ``marker`` in the body."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == 200 and marker in response.text:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url} never served {marker!r}")


class Load:
    """GET ``url`` from 4 threads until stopped; counts failures (errors and non-200) and
    notes when a body first contains ``marker`` (seconds after :meth:`start_clock`)."""

    def __init__(self, url: str, marker: str):
        self.url, self.marker, self.ok, self.failed = url, marker, 0, Counter()
        self.started, self.first_seen = time.monotonic(), None
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(4)]

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                response = requests.get(self.url, timeout=10)
            except requests.RequestException as error:
                self.failed[type(error).__name__] += 1
                continue
            if response.status_code == 200:
                self.ok += 1
                if self.first_seen is None and self.marker in response.text:
                    self.first_seen = time.monotonic() - self.started
            else:
                self.failed[f"HTTP {response.status_code}"] += 1

    def start_clock(self) -> None:
        self.started = time.monotonic()

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def workspace(prefix: str, app: str) -> tuple[Path, Path, Path, dict[str, str], int, int]:
    """A temporary copy of website/ with a deployer.toml for ``app`` (2 replicas, on a free
    port) and the environment docker-compose reads (the site, its own free port), so both
    tools deploy the same files side by side. Returns the folder, the site, the config, the
    environment and the two ports (deployer's, compose's).

    The environment lets Python write bytecode, as it does by default: the first
    (untimed) ``up`` caches deployer's compiled modules, as ``pip install`` does for a
    regular install and as Debian's package did for compose. A sandbox that sets
    ``PYTHONDONTWRITEBYTECODE=1`` would otherwise recompile deployer's own modules on
    every timed run (about 60 ms of CPU, measured in docs/benchmarks.md) while compose
    runs from its cache."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    site = work / "site"
    shutil.copytree(ROOT / "website", site, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    ours_port, compose_port = free_port(), free_port()
    config = work / "deployer.toml"
    config.write_text(f"""[app]
name = "{app}"
port = 8000
replicas = 2
[app.build]
context = "site"
[targets.local]
host_port = {ours_port}
""")
    env = {
        **{name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"},
        "SITE_DIR": str(site),
        "COMPOSE_PORT": str(compose_port),
        "XDG_STATE_HOME": str(work / "state"),
    }
    return work, site, config, env, ours_port, compose_port


def noop_medians(work: Path, env: dict[str, str], runs: int, commands: dict[str, list[str]]) -> dict[str, float]:
    """Median seconds of each named command, by ``hyperfine --warmup 2 --runs <runs>``."""
    exported = work / "hyperfine.json"
    named = [part for name, command in commands.items() for part in ("-n", name, subprocess.list2cmdline(command))]
    subprocess.run(
        ["hyperfine", "--warmup", "2", "--runs", str(runs), "--export-json", str(exported), *named],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return {r["command"]: round(r["median"], 3) for r in json.loads(exported.read_text())["results"]}


def clean_up(down: list[str], project: str, compose_file: Path, env: dict[str, str], work: Path) -> None:
    """Remove what both tools deployed (deployer's ``down`` command as given; compose's
    project with its volumes and local images) and the workspace ``work``."""
    compose_down = ["docker-compose", "-p", project, "-f", str(compose_file), "down", "-v", "--rmi", "local"]
    for command in (down, compose_down):
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(work, ignore_errors=True)


def report(results: dict[str, object], path: Path | None, shown: dict[str, object] | None = None) -> None:
    """Print ``shown`` (default: ``results``) as JSON, and write ``results`` to ``path`` when given."""
    print(json.dumps(results if shown is None else shown, indent=2))
    if path:
        path.write_text(json.dumps(results, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    work, site, config, env, ours_port, compose_port = workspace("deployer-bench-", "benchsite")
    ours = [DEPLOYER, "up", "--target", "local", "--stack", STACK, "--config", str(config)]
    compose = ["docker-compose", "-p", PROJECT, "-f", str(COMPOSE_FILE), "up", "-d"]
    results: dict[str, object] = {"commands": {"deployer": " ".join(ours), "compose": " ".join(compose)}}
    try:
        run(ours, env)
        run([*compose, "--build"], env)
        wait_for(f"http://127.0.0.1:{compose_port}/", "")

        results["noop_median_s"] = noop_medians(
            work,
            env,
            args.runs,
            {
                "deployer up": ours,
                "docker-compose up -d": compose,
                "docker-compose up -d --build": [*compose, "--build"],
            },
        )

        rollouts = {}
        for name, command, port in (
            ("deployer up", ours, ours_port),
            ("docker-compose up -d --build", [*compose, "--build"], compose_port),
        ):
            marker = f"rev-{name.split()[0]}-{time.time_ns()}"
            page = site / TEMPLATE
            page.write_text(page.read_text().replace("</h1>", f" {marker}</h1>", 1))
            url = f"http://127.0.0.1:{port}/"
            with Load(url, marker) as load:
                time.sleep(1)
                load.start_clock()
                run(command, env)
                returned = time.monotonic() - load.started
                wait_for(url, marker)
                time.sleep(1)
            rollouts[name] = {
                "command_s": round(returned, 2),
                "new_version_served_s": round(load.first_seen, 2),
                "requests": load.ok + sum(load.failed.values()),
                "failed": sum(load.failed.values()),
                "failures": dict(load.failed),
            }
        results["rollout"] = rollouts
    finally:
        down = [DEPLOYER, "down", "--images", "--target", "local", "--stack", STACK, "--config", str(config)]
        clean_up(down, PROJECT, COMPOSE_FILE, env, work)
    report(results, args.json)


if __name__ == "__main__":
    main()
