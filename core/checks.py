"""The app's HTTP checks: ``[[checks]]`` tables in the config, or two defaults.

What "the app works" means is the user's to declare, one table per request::

    [[checks]]
    path = "/status"
    status = 200
    contains = "ok"                                      # optional: text in the body
    header = { "content-type" = "application/json" }    # optional: name -> text in its value
    max_ms = 500                                         # optional

Without any, :func:`checks_for` gives :func:`default_checks`: the health path answers
2xx and ``/`` answers below 500. :mod:`deployer.verify` runs either against a URL.
"""

from __future__ import annotations

from deployer.config_section import Section
from deployer.models import Check, HealthCheck, Project, StatusRange

PATH_PATTERN = r"/[\x21\x22\x24-\x7e]*"
PATH_HINT = "a URL path starting with /, printable ASCII without spaces or #"
HEADER_PATTERN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
HEADER_HINT = "an HTTP header name (letters, digits and !#$%&'*+.^_`|~-)"
MAX_MS = 60_000


def parse_checks(top: Section) -> tuple[Check, ...]:
    """The ``checks`` array of tables of the config's top level (empty when absent)."""
    raw = top.value("checks", None)
    if raw is None:
        return ()
    key = top.key("checks")
    if not isinstance(raw, list):
        top.error("checks", "must be an array of tables: write each check as [[checks]]", value=raw)
        return ()
    if not raw:
        top.error("checks", "must not be empty; leave it out for the default checks")
        return ()
    tables = [top.table(item, f"{key}[{index}]") for index, item in enumerate(raw)]
    return tuple(parse_check(s) for s in tables if s.is_table)


def parse_check(s: Section) -> Check:
    """One ``[[checks]]`` table."""
    path = s.text("path", pattern=PATH_PATTERN, hint=PATH_HINT)
    status = s.integer("status", 200, minimum=100, maximum=599)
    contains = s.text("contains", "", pattern=r"(?s).+", hint="some text (leave the key out to not check the body)")
    headers: dict[str, str] = {}
    for name, text in s.mapping("header", key_pattern=HEADER_PATTERN, key_hint=HEADER_HINT).items():
        if name.lower() in headers:
            s.error(f"header.{name}", "is given twice (header names are case-insensitive)")
        headers[name.lower()] = text
    max_ms = s.integer("max_ms", None, minimum=1, maximum=MAX_MS)
    s.done()
    return Check(path=path, status=status, contains=contains, headers=headers, max_ms=max_ms)


def default_checks(health_path: str = HealthCheck().path) -> tuple[Check, ...]:
    """The checks of an app that declares none: ``health_path`` answers 2xx and ``/``
    answers below 500 (a 404 home page is fine, a crash is not)."""
    healthy = Check(health_path, status=StatusRange(200, 299))
    if health_path == "/":
        return (healthy,)
    return (healthy, Check("/", status=StatusRange(100, 499)))


def checks_for(project: Project | None) -> tuple[Check, ...]:
    """The project's declared checks, else the defaults for its health path (for the
    default health path when there is no project)."""
    if project is None:
        return default_checks()
    return project.checks or default_checks(project.app.health.path)
