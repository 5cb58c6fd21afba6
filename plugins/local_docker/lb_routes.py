"""The running load balancer's routes: what HAProxy routes to now, registering a new set
of replicas, and waiting until it serves.

Compute registers replicas with :func:`register` only once Docker reports them healthy,
like targets registered in a target group. A membership change writes the new config
into the load balancer's volume, validates it with ``haproxy -c`` and reloads the master
process (``SIGUSR2``): the new worker takes over the listening socket (``expose-fd
listeners``) and the old one finishes its requests, so no connection is refused during
a rollout.

HAProxy is questioned with the standard library's :mod:`http.client`, over loopback TCP.
"""

from __future__ import annotations

import http.client
import io
import tarfile
import time
from urllib.parse import urlsplit

from deployer.docker_engine import DockerEngine
from deployer.errors import DeployFailed
from deployer.healthcheck import HEALTHY_STATUSES
from deployer.plugins.local_docker import engine
from deployer.plugins.local_docker.haproxy_config import (
    CONFIG_DIR,
    CONFIG_FILE,
    STATS_PATH,
    Routes,
    Upstream,
    config_id,
    render,
    routes_from_config,
    routes_from_stats,
)

STATS_TIMEOUT = 2
"""Seconds the stats request may take before the config file is read instead."""
MAX_STATS_BYTES = 1024 * 1024
"""The largest stats CSV read (about 3,000 replicas); a larger reply is not HAProxy's
answer for a config this target writes, so the config file is read instead."""


def routes(docker: DockerEngine, upstream: Upstream) -> Routes | None:
    """What the load balancer routes to now; None when there is no load balancer
    (:func:`routes_of` its container and stats port)."""
    return routes_of(docker, upstream.container, upstream.stats_port)


def routes_of(docker: DockerEngine, container: str, stats_port: int | None) -> Routes | None:
    """What the load balancer ``container`` routes to now; None when there is none.

    Read from what the running HAProxy has loaded (its stats CSV on ``stats_port``: one
    local HTTP request), so a config written but never loaded is not mistaken for routes.
    When the stats cannot be read (no ``stats_port``: a load balancer that is not running,
    or one still on a config without the stats listener), the config file in its volume
    is read instead: that is what HAProxy loads when it starts.
    """
    return routes_and_states(docker, container, stats_port)[0]


def routes_and_states(
    docker: DockerEngine, container: str, stats_port: int | None
) -> tuple[Routes | None, dict[str, str]]:
    """:func:`routes_of`, and from the same read of the stats each server's state as the
    load balancer reports it (``UP``: its health checks pass; ``DOWN``: they failed;
    ``UP 1/2``: going down); no states when the stats cannot be read."""
    csv = _stats_csv(stats_port) if stats_port else None
    if csv is not None:
        return routes_from_stats(csv), {row["svname"]: row.get("status", "") for row in _server_rows(csv)}
    config = _read_config(docker, container)
    return (None if config is None else routes_from_config(config)), {}


def _stats_csv(port: int) -> str | None:
    """HAProxy's stats CSV from its loopback ``port``; None when it cannot be read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=STATS_TIMEOUT)
    try:
        connection.request("GET", f"{STATS_PATH};csv")
        reply = connection.getresponse()
        body = reply.read(MAX_STATS_BYTES + 1)
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    if reply.status != 200 or len(body) > MAX_STATS_BYTES:
        return None
    return body.decode(errors="replace")


def _read_config(docker: DockerEngine, container: str) -> str | None:
    """The config file in the load balancer's volume; None when there is no load balancer."""
    try:
        stream, _ = docker.api.get_archive(container, CONFIG_FILE)
    except docker.errors.NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        member = archive.extractfile(archive.getmembers()[0])
        return member.read().decode() if member else ""


RELOAD_SETTLE_SECONDS = 10
"""How long :func:`register` waits for the master to take a reload signal (then sends it
anyway), and then for the reload it sent to fork a new worker, before leaving the rest
to :func:`wait_routed`: each wait by the container's clock (``/proc/uptime``)."""

_CONFIG_IN_PLACE = "config in place"
"""What the script prints once the new config has replaced the old one."""

_SHELL = (
    # the live HAProxy workers (children of the master, PID 1), from /proc: the image has no ps
    'workers() { for f in /proc/[0-9]*/stat; do read -r p c s pp r 2>/dev/null < "$f" || continue; '
    '[ "$c" = "(haproxy)" ] && [ "$pp" = 1 ] && [ "$s" != Z ] && printf "%s " "$p"; done; }; '
    # the master takes SIGUSR2 (signal 12: mask bit 0x800) now: caught, and not blocked as
    # it is while a reload re-executes the master, when HAProxy 2.6 loses the signal; a
    # kernel that shows neither mask cannot tell, so the signal goes at once
    "ready() { b=0000; c=; while read -r k v; do case $k in SigBlk:) b=0000$v;; SigCgt:) c=0000$v;; esac; "
    'done < /proc/1/status; [ -z "$c" ] && return 0; '
    '[ $((0x${b#"${b%????}"} & 0x800)) = 0 ] && [ $((0x${c#"${c%????}"} & 0x800)) != 0 ]; }; '
    # the reload sent has forked a worker that was not there before, and the master is ready again
    'reloaded() { for p in $(workers); do case " $old " in *" $p "*) ;; *) ready; return;; esac; '
    "done; return 1; }; "
    # run "$@" until it succeeds, at most RELOAD_SETTLE_SECONDS by the container's clock
    "await() { read -r up _ < /proc/uptime; end=$((${up%.*} + "
    f"{RELOAD_SETTLE_SECONDS}"
    ')); until "$@"; do read -r up _ < /proc/uptime; [ ${up%.*} -ge $end ] && return 0; sleep 0.05; done; }; '
)


def register(docker: DockerEngine, upstream: Upstream, members: tuple[str, ...]) -> tuple[int, ...]:
    """Route to exactly ``members``: write, validate and gracefully reload the config.
    Returns the PIDs of the HAProxy workers that ran before the reload: they finish their
    in-flight requests, then exit (:func:`wait_drained`).

    The reload signal is sent only once the master can take it, and the call returns once
    the reload has forked its worker (each wait at most :data:`RELOAD_SETTLE_SECONDS`): a
    signal sent while an earlier reload re-executes the master is lost, so a second
    ``register`` right after a first (routing back after an interrupt) would leave the
    first's routes live.

    :raises DeployFailed: HAProxy rejected the config (nothing was changed), or the
        reload signal could not be sent (the new config is in place: the next ``up``
        sees the routes differ and reloads).
    """
    text = render(upstream, members)
    docker.api.put_archive(upstream.container, CONFIG_DIR, engine.tar({"haproxy.cfg.new": text}))
    script = (
        f"{_SHELL}haproxy -c -q -f {CONFIG_FILE}.new 2>&1 && mv -f {CONFIG_FILE}.new {CONFIG_FILE} && "
        f'{{ echo "{_CONFIG_IN_PLACE}"; await ready; old=$(workers); for p in $old; do echo "worker $p"; done; '
        "kill -USR2 1 && await reloaded; }"
    )
    exec_id = docker.api.exec_create(upstream.container, ["sh", "-c", script])["Id"]
    # the two waits, and the check of a config with many servers on a slow machine
    output = docker.patient(2 * RELOAD_SETTLE_SECONDS + 30).exec_start(exec_id).decode(errors="replace")
    code = docker.api.exec_inspect(exec_id)["ExitCode"]
    lines = output.splitlines()
    if code != 0:
        said = output.strip() or f"exit code {code} and no output (`docker logs {upstream.container}` may say why)"
        if _CONFIG_IN_PLACE in lines:
            said = "\n".join(line for line in lines if line != _CONFIG_IN_PLACE and not line.startswith("worker "))
            raise DeployFailed(f"the load balancer did not take the reload signal (its new config is in place): {said}")
        raise DeployFailed(f"the load balancer rejected its new config: {said}")
    return tuple(int(line.split()[1]) for line in lines if line.startswith("worker "))


def wait_drained(docker: DockerEngine, upstream: Upstream, workers: tuple[int, ...], cap: float) -> float | None:
    """Wait until the HAProxy ``workers`` that ran before a reload have exited, at most
    ``cap`` seconds; return the seconds waited, None when the cap was reached.

    After a graceful reload the old servers no longer receive requests; the requests they
    still serve (their current sessions, ``scur`` in the old worker's stats) are held by
    the old worker, which HAProxy keeps alive exactly until its last session has ended,
    then exits. Its exit is the moment the old servers' in-flight requests reach zero.
    (The stats listener moves to the new worker at the reload, so the old worker's
    ``scur`` cannot be read over HTTP; its process can.) One exec that polls ``/proc``
    every 50 ms.
    """
    if not workers:
        return 0.0
    started = time.monotonic()
    rounds = max(1, int(cap / 0.05))
    pids = " ".join(str(p) for p in workers)
    script = (
        f"i=0; while [ $i -lt {rounds} ]; do alive=; for p in {pids}; do "
        'if read -r _ _ s _ 2>/dev/null < /proc/$p/stat && [ "$s" != Z ]; then alive="$alive $p"; fi; done; '
        '[ -z "$alive" ] && exit 0; sleep 0.05; i=$((i+1)); done; exit 3'
    )
    exec_id = docker.api.exec_create(upstream.container, ["sh", "-c", script])["Id"]
    docker.patient(cap).exec_start(exec_id)  # answers once the script ends, at most cap s later
    code = docker.api.exec_inspect(exec_id)["ExitCode"]
    return time.monotonic() - started if code == 0 else None


def wait_routed(docker: DockerEngine, upstream: Upstream, members: tuple[str, ...], timeout: float) -> None:
    """Wait until the running HAProxy reports routing to exactly ``members`` with this
    config: after a reload the old worker can answer the stats for a moment, so what is
    read right after (by ``plan``, ``status`` or the next ``up``) is the new routes.

    :raises DeployFailed: it did not within ``timeout`` seconds.
    """
    wanted = Routes(config_id(upstream), tuple(sorted(members)))
    deadline = time.monotonic() + timeout
    while (seen := routes(docker, upstream)) != wanted:
        if time.monotonic() > deadline:
            raise DeployFailed(f"the load balancer did not load its new routes within {timeout:.0f} s: {seen}")
        time.sleep(0.05)


def wait_serving(url: str, path: str, timeout: float, *, answer_within: float = 2) -> None:
    """Wait until ``url`` + ``path`` answers a healthy status (any 2xx,
    :data:`~deployer.healthcheck.HEALTHY_STATUSES`) through the load balancer, each
    request given ``answer_within`` seconds.

    :raises DeployFailed: it did not within ``timeout`` seconds.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection(host, port, timeout=answer_within)
        try:
            connection.request("GET", path)
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException) as error:
            last = str(error) or type(error).__name__
        else:
            if status in HEALTHY_STATUSES:
                return
            last = f"status {status}"
        finally:
            connection.close()
        time.sleep(0.1)
    raise DeployFailed(f"the load balancer at {url} did not serve {path} within {timeout:.0f} s: {last}")


def wait_checked(stats_port: int | None, members: tuple[str, ...], path: str, timeout: float) -> None:
    """Wait until the load balancer's own health checks (``GET path``) have passed on one
    of ``members``: HAProxy reports it ``UP`` after a check it ran, not the ``UP`` a new
    server starts in. An app can answer deployer's and Docker's probes and still fail
    HAProxy's (a ``Host`` it refuses, an answer slower than HAProxy waits). One is enough:
    HAProxy staggers the first checks of the others over its interval, and they run the
    same image and config. Nothing to wait for when the stats cannot be read (the wait
    through the endpoint still runs).

    :raises DeployFailed: HAProxy marked one ``DOWN`` first (with its last check's
        result), or none passed within ``timeout`` seconds.
    """
    if not stats_port:
        return
    deadline = time.monotonic() + timeout
    while True:
        csv = _stats_csv(stats_port)
        rows = {row["svname"]: row for row in _server_rows(csv)} if csv is not None else {}
        if not rows:  # the stats cannot be read: the wait through the endpoint decides
            return
        down = [rows[name] for name in members if rows.get(name, {}).get("status", "").startswith("DOWN")]
        if down:
            results = "; ".join(f"{row['svname']}: {_check_result(row)}" for row in down)
            raise DeployFailed(f"the load balancer's health checks (GET {path}) fail: {results}")
        if any(_passed(rows.get(name, {})) for name in members):
            return
        if time.monotonic() > deadline:
            raise DeployFailed(f"the load balancer's health checks (GET {path}) did not pass within {timeout:.0f} s")
        time.sleep(0.1)


def _passed(row: dict[str, str]) -> bool:
    """HAProxy's stats row of a server says its last check, one HAProxy ran, passed."""
    return row.get("status", "").startswith("UP") and "OK" in row.get("check_status", "")


def _check_result(row: dict[str, str]) -> str:
    """HAProxy's last check of a server in words: ``Layer7 wrong status, HTTP 500``."""
    code = f", HTTP {row['check_code']}" if row.get("check_code") else ""
    return f"{row.get('check_desc') or row.get('check_status') or 'failed'}{code}"


def _server_rows(csv: str) -> list[dict[str, str]]:
    """HAProxy's stats rows of its servers in ``csv`` (not the frontend and backend
    totals), each field by its CSV header name."""
    lines = csv.splitlines()
    if not lines:
        return []
    header = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
    return [row for row in rows if row.get("svname") not in (None, "FRONTEND", "BACKEND")]
