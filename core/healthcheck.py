"""The container health check every target runs: one definition of "healthy".

``GET http://127.0.0.1:<port><path>`` from inside the container must answer a 2xx
status (:data:`HEALTHY_STATUSES`; no redirect followed) within the timeout. A target
whose load balancer also checks the app states the same rule in its own terms. Probed
with python3 when the image has it, else curl, else
wget, through ``/bin/sh`` (Docker's and ECS's ``CMD-SHELL``). The path is shell-quoted:
any path the config accepts reaches the app as one URL. The status decides. python3's
probe also asks the app to close the connection and reads a body of known length up to
64 KiB (its errors ignored), so that it does not reset the connection, which an app
that logs failed reads reports with a traceback per check; curl and wget read the whole
answer anyway. python3 runs isolated (``-I -S``): it runs in the app's working
directory with the app's env, where a module of the app (a top-level ``email.py``, an
``http`` package on ``PYTHONPATH``) would otherwise be imported in place of the standard
library's; and it imports no ``site``, which the probe does not need.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deployer.models import AppSpec

HEALTHY_STATUSES = range(200, 300)
"""The statuses that mean healthy: any 2xx, answered on the health path itself (a
redirect is not followed, so a 3xx is unhealthy)."""
DRAINED_BODY_MAX = 64 * 1024
"""The largest health answer body (of known length) a probe reads before it closes, so
that closing leaves no unread byte, which would reset the connection."""

_PYTHON_PROBE = (
    "import http.client, sys\n"
    "port, path, timeout = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])\n"
    "try:\n"
    "    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)\n"
    "    conn.request('GET', path, headers={'Connection': 'close'})\n"
    "    response = conn.getresponse()\n"
    "    status = response.status\n"
    "except Exception as error:\n"
    "    sys.exit(f'GET {path}: {error}')\n"
    "try:\n"
    f"    if response.length is not None and response.length <= {DRAINED_BODY_MAX}:\n"
    "        response.read()\n"
    "except Exception:\n"
    "    pass\n"
    f"sys.exit(0 if {HEALTHY_STATUSES.start} <= status < {HEALTHY_STATUSES.stop} else f'GET {{path}}: status {{status}}')\n"
)


PROBE_TOOLS = ("python3", "curl", "wget")
"""What :func:`probe_command` probes with, the first the container's ``PATH`` has (its
branches, in this order)."""
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def probe_command(port: int, path: str, timeout: int) -> str:
    """The shell command of the health check (for ``["CMD-SHELL", probe_command(...)]``).

    wget is GNU wget (``wget --version`` succeeds) or BusyBox's. GNU's refuses the
    redirect (``--max-redirect=0``) and gets ``-T``. BusyBox's has neither option (an
    unknown option is an error; ``-T`` even crashes Debian's busybox-static) and follows
    301, 302, 303 and 307 itself, so the first status line it shows (``-S``) decides: a
    redirect is unhealthy whatever it leads to. Its time limit is the engine's: Docker's
    and ECS's health-check ``timeout`` stop a probe that takes longer.

    The probe runs with the app's env and as the image's user: the proxy variables an app
    may set for its own outbound requests are unset first (curl and wget would send the
    probe to that proxy), GNU wget takes no proxy from a ``wgetrc`` either
    (``--no-proxy``), and curl reads no ``.curlrc`` (``-q``: one could follow redirects)."""
    url = shlex.quote(f"http://127.0.0.1:{port}{path}")
    return (
        f"unset {' '.join(_PROXY_VARIABLES)}; "
        f"if command -v python3 >/dev/null; then "
        f"python3 -I -S -c {shlex.quote(_PYTHON_PROBE)} {port} {shlex.quote(path)} {timeout}; "
        f"elif command -v curl >/dev/null; then "
        f"curl -q -s -o /dev/null -m {timeout} -w '%{{http_code}}' {url} | grep -q '^2'; "
        f"elif wget --version >/dev/null 2>&1; then "
        f"wget -q -O /dev/null -T {timeout} --max-redirect=0 --no-proxy {url}; "
        f"else wget -q -S -O /dev/null {url} 2>&1 | grep -m1 '^ *HTTP/' | grep -qE '^ *HTTP/[0-9.]+ 2[0-9][0-9]( |$)'; fi"
    )


_NANOSECONDS = 1_000_000_000


def docker_health_config(app: AppSpec, *, interval: int) -> dict[str, object]:
    """The Docker Engine API's ``HealthConfig`` for a replica of ``app``: :func:`probe_command`
    through ``CMD-SHELL`` every ``interval`` seconds, with the app's health timeout, retries
    and start period. The docker SDK takes it as ``healthcheck=`` (``containers.run`` and
    ``api.create_container``)."""
    health = app.health
    return {
        "Test": ["CMD-SHELL", probe_command(app.port, health.path, health.timeout)],
        "Interval": interval * _NANOSECONDS,
        "Timeout": health.timeout * _NANOSECONDS,
        "Retries": health.retries,
        "StartPeriod": health.start_period * _NANOSECONDS,
    }
