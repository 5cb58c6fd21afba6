"""Database app benchmark: ``deployer up --target local`` against ``docker-compose`` for
an app with Postgres, a worker and a release command, side by side in one run.

The app is the test kit's database app (``tests/local_docker/dbapp``: the web writes rows,
the worker processes them, ``migrate.py`` creates the schema). deployer deploys it from a
``deployer.toml`` (2 web replicas behind HAProxy, one worker, ``[database]``, the release
command); compose from ``bench/db-compose.yml`` (one published web, one worker, Postgres
with a named volume, the migration as a one-shot service), with the same database image.

1. no-op re-run: ``hyperfine`` median of ``--runs`` runs of ``deployer up`` and
   ``docker-compose up -d``;
2. a code change (``server.py`` answers ``/`` with a new marker) until the new version
   serves, ``deployer up`` against ``docker-compose up -d --build``, under the same
   bounded load (4 client threads), counting failed requests.

Usage: ``.venv/bin/python bench/db_bench.py [--runs 10] [--json results.json]``
(needs the Docker engine, python:3.12-slim, hyperfine and docker-compose).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from local_bench import DEPLOYER, ROOT, clean_up, free_port, noop_medians, report, run, wait_for
from rollout_bench import timed

COMPOSE_FILE = ROOT / "bench" / "db-compose.yml"
STACK, PROJECT, APP = "dbbench", "deployerdbbench", "dbbench"
SERVER = Path("server.py")


def workspace() -> tuple[Path, Path, dict[str, str], int, int]:
    """A temporary copy of the database app with its deployer.toml, and the environment
    the compose file reads. Returns the folder, the config, the environment and the two
    ports (deployer's, compose's)."""
    work = Path(tempfile.mkdtemp(prefix="deployer-dbbench-"))
    shutil.copytree(ROOT / "tests" / "local_docker" / "dbapp", work / "app")
    ours_port, compose_port = free_port(), free_port()
    config = work / "deployer.toml"
    config.write_text(f"""[app]
name = "{APP}"
port = 8000
replicas = 2
release_command = "python3 /srv/migrate.py"
[app.build]
context = "app"
[app.health]
path = "/healthz"

[workers.mailer]
command = ["python3", "/srv/worker.py"]

[database]
engine = "postgres"
version = "15"

[targets.local]
host_port = {ours_port}
""")
    password = secrets.token_urlsafe(24)
    pgpass = work / "pgpass"
    pgpass.write_text(password)
    pgpass.chmod(0o644)  # read by the postgres user in the container
    env = {
        **os.environ,
        "APP_DIR": str(work / "app"),
        "COMPOSE_PORT": str(compose_port),
        "PGPASSWORD": password,
        "PGPASS_FILE": str(pgpass),
        "XDG_STATE_HOME": str(work / "state"),
    }
    return work, config, env, ours_port, compose_port


def database_image(env: dict[str, str]) -> str:
    """The image of the database container deployer's run created."""
    name = f"deployer-{APP}.{STACK}-db"
    found = subprocess.run(
        ["docker", "inspect", "--format", "{{.Config.Image}}", name],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return found.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    work, config, env, ours_port, compose_port = workspace()
    ours = [DEPLOYER, "up", "--target", "local", "--stack", STACK, "--config", str(config)]
    compose = ["docker-compose", "-p", PROJECT, "-f", str(COMPOSE_FILE), "up", "-d"]
    results: dict[str, object] = {"commands": {"deployer": " ".join(ours), "compose": " ".join(compose)}}
    log = work / "output.log"
    try:
        run(ours, env)
        env["DB_IMAGE"] = database_image(env)
        results["database_image"] = env["DB_IMAGE"]
        run([*compose, "--build"], env)
        wait_for(f"http://127.0.0.1:{compose_port}/", "version")

        results["noop_median_s"] = noop_medians(
            work, env, args.runs, {"deployer up": ours, "docker-compose up -d": compose}
        )

        rollouts = {}
        server = work / "app" / SERVER
        for name, command, port in (
            ("deployer up", ours, ours_port),
            ("docker-compose up -d --build", [*compose, "--build"], compose_port),
        ):
            marker = f"rev-{name.split()[0]}-{secrets.token_hex(4)}"
            server.write_text(server.read_text().replace('f"version {VERSION}', f'f"version {{VERSION}} {marker}', 1))
            rollouts[name] = timed(command, env, f"http://127.0.0.1:{port}/", marker, log)
        results["rollout"] = rollouts
    finally:
        down = [
            DEPLOYER,
            "down",
            "--images",
            "--destroy-data",
            "--target",
            "local",
            "--stack",
            STACK,
            "--config",
            str(config),
        ]
        clean_up(down, PROJECT, COMPOSE_FILE, env, work)
    report(results, args.json)


if __name__ == "__main__":
    main()
