"""gunicorn settings for the website image, read from the environment.

PORT (default 8000), WEB_WORKERS (default 2), WEB_THREADS (default 4) and
WEB_GRACEFUL_TIMEOUT (seconds, default 25). On SIGTERM gunicorn stops accepting
connections and lets in-flight requests finish for up to the graceful timeout; keep it
below the platform's stop timeout (ECS: 30 s by default; `docker stop`: pass -t 30).
The access log leaves out the health checks that pass.
"""

import os

from gunicorn.glogging import Logger

HEALTH_PATH = "/healthz"  # the site's health route (deployer.toml [app.health] path)


class QuietHealthChecks(Logger):
    """gunicorn's access log without the passing health checks: the load balancer and
    the container engine ask every few seconds per replica, which would bury the site's
    own requests. A failing check (status 400 or more) is still logged."""

    def access(self, resp, req, environ, request_time):
        if req.path == HEALTH_PATH and (resp.status_code or 500) < 400:
            return
        super().access(resp, req, environ, request_time)


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"gunicorn.conf.py: {name} must be a positive integer (got {raw!r})")
    return int(raw)


bind = f"0.0.0.0:{_positive_int('PORT', 8000)}"
workers = _positive_int("WEB_WORKERS", 2)
threads = _positive_int("WEB_THREADS", 4)
worker_class = "gthread"
graceful_timeout = _positive_int("WEB_GRACEFUL_TIMEOUT", 25)
timeout = 30
keepalive = 5
worker_tmp_dir = "/dev/shm"
control_socket_disable = True  # no runtime-management socket inside the container
accesslog = "-"
logger_class = QuietHealthChecks
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
