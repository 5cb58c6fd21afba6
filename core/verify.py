""" "The site works", defined once: named HTTP checks that run against any endpoint.

The checks are data (:class:`Check`, :class:`Follow`, :class:`Header` in a
:class:`Suite`). They run through one tiny interface, ``get(path) -> Response``, so the
same suite runs against a deployed base URL (:func:`run_checks`, standard-library HTTP)
and through a framework's test client (:func:`run_checks_with`)::

    report = run_checks("http://127.0.0.1:8080")
    require_passed(report)          # VerifyFailed naming each failed check

Pages found by following links (each project page, the stylesheet) are checked too, so
the list of projects is never written down twice: a new project is verified as soon as
the projects page links to it.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from attrs import field, frozen

from deployer.errors import VerifyFailed

MAX_BODY_BYTES = 5 * 1024 * 1024
"""Bodies are read up to this size; a check never needs more."""


def _lower_keys(headers: Mapping[str, str]) -> Mapping[str, str]:
    return {name.lower(): value for name, value in dict(headers).items()}


@frozen
class Response:
    """What a check sees of one HTTP response. Header names are stored lower-case."""

    status: int
    headers: Mapping[str, str] = field(factory=dict, converter=_lower_keys)
    body: bytes = b""

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-case (``"text/html"``)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


Get = Callable[[str], Response]
"""Fetches a site-relative path (``"/about"``); raises ``OSError`` when it cannot connect."""


@frozen
class Header:
    """A response header every checked response must carry; ``contains`` is a required
    substring of its value (case-insensitive), empty for presence only."""

    name: str
    contains: str = ""


@frozen
class Follow:
    """Site-relative links in a checked page that become checks of their own.

    ``element`` is ``"a"`` or ``"link"`` (``rel`` filters link elements, e.g.
    ``"stylesheet"``); only paths starting with ``prefix`` count. Each link becomes a
    check named ``"<name> <last path segment>"`` (``"project deployer"``) expecting 200 and ``media_type``. A page with fewer
    than ``minimum`` such links fails its own check.
    """

    name: str
    element: str = "a"
    rel: str = ""
    prefix: str = "/"
    media_type: str = "text/html"
    minimum: int = 1


@frozen
class Check:
    """One named request and what its response must be.

    ``json`` is a subset the JSON body must contain (``{"status": "ok"}``); ``follow``
    derives further checks from the links in this response's HTML.
    """

    name: str
    path: str
    status: int = 200
    media_type: str = "text/html"
    json: Mapping[str, Any] | None = None
    follow: tuple[Follow, ...] = ()


@frozen
class Suite:
    """The checks to run, in order, and the headers every response must carry."""

    checks: tuple[Check, ...]
    headers: tuple[Header, ...] = ()


SECURITY_HEADERS: tuple[Header, ...] = (
    Header("Content-Security-Policy", "frame-ancestors 'none'"),
    Header("X-Content-Type-Options", "nosniff"),
    Header("X-Frame-Options", "DENY"),
    Header("Referrer-Policy"),
)

DEFAULT_SUITE = Suite(
    checks=(
        Check("home", "/", follow=(Follow("stylesheet", element="link", rel="stylesheet", media_type="text/css"),)),
        Check("about", "/about"),
        Check("projects", "/projects", follow=(Follow("project", prefix="/projects/"),)),
        Check("contact", "/contact"),
        Check("healthz", "/healthz", media_type="application/json", json={"status": "ok"}),
        Check("not found", "/deployer-verify/no-such-page", status=404),
    ),
    headers=SECURITY_HEADERS,
)
"""What "the website works" means for every target."""


@frozen
class CheckResult:
    """The outcome of one check; ``reason`` says what was wrong when it failed."""

    name: str
    path: str
    passed: bool
    reason: str = ""


@frozen
class VerifyReport:
    """Every check that ran against ``target`` (a base URL, or a label for a test client)."""

    target: str
    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(result.passed for result in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(result for result in self.checks if not result.passed)

    def lines(self) -> list[str]:
        """One human-readable line per check: ``PASS home /`` or ``FAIL about /about: why``."""
        return [
            f"{'PASS' if r.passed else 'FAIL'} {r.name} {r.path}" + (f": {r.reason}" if r.reason else "")
            for r in self.checks
        ]


# --- running ------------------------------------------------------------------------------


def run_checks(base_url: str, *, timeout: float = 5, suite: Suite = DEFAULT_SUITE) -> VerifyReport:
    """Run ``suite`` over HTTP against ``base_url`` (``http://host:port``, optional path prefix).

    Never raises for a failing site: connection errors, timeouts and wrong answers are
    failed checks in the report. Redirects are not followed (a 301 fails a 200 check and
    names its Location).
    """
    return run_checks_with(http_get(base_url, timeout=timeout), suite=suite, target=base_url)


def run_checks_with(get: Get, *, suite: Suite = DEFAULT_SUITE, target: str = "client") -> VerifyReport:
    """Run ``suite`` through ``get``, e.g. an adapter over Flask's test client.

    ``get`` may raise ``OSError`` (reported as a failed check); other exceptions propagate.
    """
    results: list[CheckResult] = []
    pending = list(suite.checks)
    seen = {check.path for check in pending}
    while pending:
        check = pending.pop(0)
        try:
            response = get(check.path)
        except OSError as error:
            results.append(CheckResult(check.name, check.path, False, f"request failed: {_describe(error)}"))
            continue
        problems = _problems(check, response, suite.headers)
        for follow in check.follow:
            paths = _links(response, follow)
            if len(paths) < follow.minimum:
                problems.append(
                    f"expected at least {follow.minimum} link(s) to {follow.prefix}... "
                    f"({follow.name}), found {len(paths)}"
                )
            for path in paths:
                if path not in seen:
                    seen.add(path)
                    label = path.rstrip("/").rsplit("/", 1)[-1] or path
                    pending.append(Check(f"{follow.name} {label}", path, media_type=follow.media_type))
        results.append(CheckResult(check.name, check.path, not problems, "; ".join(problems)))
    return VerifyReport(target, tuple(results))


def require_passed(report: VerifyReport) -> VerifyReport:
    """Return ``report`` when every check passed; else raise :class:`VerifyFailed` naming each
    failed check and why."""
    if report.passed:
        return report
    failed = report.failures or (CheckResult("suite", "", False, "no checks ran"),)
    detail = "\n".join(f"  {r.name} ({r.path}): {r.reason}" for r in failed)
    raise VerifyFailed(f"{len(failed)} of {len(report.checks)} checks failed against {report.target}:\n{detail}")


def http_get(base_url: str, *, timeout: float = 5) -> Get:
    """A :data:`Get` over HTTP(S) with the standard library: no redirects, bodies capped at
    :data:`MAX_BODY_BYTES`, HTTP error statuses returned as responses."""
    base = base_url.rstrip("/")
    if urlsplit(base).scheme not in ("http", "https"):
        raise ValueError(f"base URL must start with http:// or https:// (got {base_url!r})")
    opener = urllib.request.build_opener(_NoRedirect)

    def get(path: str) -> Response:
        request = urllib.request.Request(base + path, headers={"User-Agent": "deployer-verify"})
        try:
            with opener.open(request, timeout=timeout) as raw:
                return Response(raw.status, dict(raw.headers.items()), raw.read(MAX_BODY_BYTES))
        except urllib.error.HTTPError as error:
            with error:
                return Response(error.code, dict(error.headers.items()), error.read(MAX_BODY_BYTES))
        except http.client.HTTPException as error:  # a malformed or truncated response
            raise OSError(f"invalid HTTP response: {error!r}") from error

    return get


# --- internals ----------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _describe(error: OSError) -> str:
    reason = getattr(error, "reason", None)  # URLError wraps the socket error
    return str(reason if reason is not None else error) or type(error).__name__


def _problems(check: Check, response: Response, headers: tuple[Header, ...]) -> list[str]:
    problems = []
    if response.status != check.status:
        where = response.headers.get("location")
        problems.append(
            f"expected status {check.status}, got {response.status}" + (f" (Location: {where})" if where else "")
        )
    if response.media_type != check.media_type:
        problems.append(f"expected content type {check.media_type}, got {response.media_type or 'none'}")
    if check.json is not None:
        problems.extend(_json_problems(check.json, response.body))
    for header in headers:
        value = response.headers.get(header.name.lower())
        if value is None:
            problems.append(f"missing header {header.name}")
        elif header.contains.lower() not in value.lower():
            problems.append(f"header {header.name} lacks {header.contains!r} (got {value!r})")
    return problems


def _json_problems(expected: Mapping[str, Any], body: bytes) -> list[str]:
    try:
        document = json.loads(body)
    except ValueError:
        return ["body is not JSON"]
    if not isinstance(document, dict):
        return ["JSON body is not an object"]
    return [
        f"expected JSON {key}={value!r}, got {document.get(key, '<missing>')!r}"
        for key, value in expected.items()
        if document.get(key) != value
    ]


def _links(response: Response, follow: Follow) -> list[str]:
    """Site-relative paths (query and fragment dropped) linked by ``follow``'s elements, in
    document order without repeats."""
    if response.media_type != "text/html":
        return []
    parser = _LinkParser(follow.element, follow.rel)
    parser.feed(response.body.decode("utf-8", errors="replace"))
    paths: list[str] = []
    for href in parser.hrefs:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith(follow.prefix):
            continue
        if parts.path not in paths:
            paths.append(parts.path)
    return paths


class _LinkParser(HTMLParser):
    def __init__(self, element: str, rel: str):
        super().__init__()
        self.element, self.rel, self.hrefs = element, rel.lower(), []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != self.element:
            return
        values = {name: value or "" for name, value in attrs}
        if self.rel and self.rel not in values.get("rel", "").lower().split():
            return
        if values.get("href"):
            self.hrefs.append(values["href"])
