"""Running the app's HTTP checks (:class:`deployer.models.Check`) against any endpoint.

The checks are data, declared in the config (:mod:`deployer.checks`). They run through one
tiny interface, ``get(path) -> Response``, so the same checks run against a deployed base
URL (:func:`run_checks`, standard-library HTTP) and through a framework's test client
(:func:`run_checks_with`)::

    report = run_checks("http://127.0.0.1:8080", project.checks)
    require_passed(report)          # VerifyFailed naming each failed check

:func:`wait_until_passing` polls until every check passes, for code that has just
deployed something; :func:`wait_until_serving` raises ``DeployFailed`` when they do not.
"""

from __future__ import annotations

import http.client
import ipaddress
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from attrs import field, frozen

from deployer.errors import DeployFailed, VerifyFailed
from deployer.models import Check

MAX_BODY_BYTES = 5 * 1024 * 1024
"""Bodies are read up to this size; a check never needs more."""

DEFAULT_TIMEOUT = 10.0
"""Seconds one request may take before its check fails (raised to a check's ``max_ms``)."""


def _lower_keys(headers: Mapping[str, str]) -> Mapping[str, str]:
    return {name.lower(): value for name, value in dict(headers).items()}


@frozen
class Response:
    """What a check sees of one HTTP response. Header names are stored lower-case."""

    status: int
    headers: Mapping[str, str] = field(factory=dict, converter=_lower_keys)
    body: bytes = b""


Get = Callable[[str], Response]
"""Fetches a site-relative path (``"/about"``); raises ``OSError`` when it cannot connect."""


@frozen
class CheckResult:
    """The outcome of one check: what was expected, what came back, and (when it failed)
    ``reason``, every problem found. ``status`` and ``ms`` are None when no response came."""

    path: str
    expected: str
    passed: bool
    reason: str = ""
    status: int | None = None
    ms: int | None = None


@frozen
class Report:
    """Every check that ran against ``target`` (a base URL, or a label for a test client).
    ``passed``: at least one check ran and every one passed."""

    target: str
    results: tuple[CheckResult, ...]
    passed: bool = field(init=False)

    @passed.default
    def _all_passed(self) -> bool:
        return bool(self.results) and all(result.passed for result in self.results)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(result for result in self.results if not result.passed)

    def lines(self) -> list[str]:
        """One human-readable line per check:
        ``PASS /about: status 200, contains 'About' (12 ms)`` or
        ``FAIL /about: expected status 200, got 500``."""
        return [
            f"PASS {r.path}: {r.expected} ({r.ms} ms)" if r.passed else f"FAIL {r.path}: {r.reason}"
            for r in self.results
        ]


def describe(check: Check) -> str:
    """What ``check`` expects, in words: ``status 200, contains 'ok', header content-type
    has 'application/json', within 500 ms``."""
    parts = [f"status {check.status}"]
    if check.contains:
        parts.append(f"contains {check.contains!r}")
    for name, text in check.headers.items():
        parts.append(f"header {name} has {text!r}" if text else f"header {name} present")
    if check.max_ms is not None:
        parts.append(f"within {check.max_ms} ms")
    return ", ".join(parts)


# --- running ------------------------------------------------------------------------------


def run_checks(base_url: str, checks: Iterable[Check], *, timeout: float = DEFAULT_TIMEOUT) -> Report:
    """Run ``checks`` over HTTP against ``base_url`` (``http(s)://host[:port]``, optional
    path prefix).

    Never raises for a failing app: connection errors, timeouts and wrong answers are
    failed checks in the report. Redirects are not followed (a 301 fails a 200 check and
    names its Location). A request may take ``timeout`` seconds, or a check's ``max_ms``
    when longer.
    """
    checks = tuple(checks)
    longest = max((check.max_ms or 0 for check in checks), default=0) / 1000
    return run_checks_with(http_get(base_url, timeout=max(timeout, longest + 1)), checks, target=base_url)


def run_checks_with(get: Get, checks: Iterable[Check], *, target: str = "client") -> Report:
    """Run ``checks`` through ``get``, e.g. an adapter over Flask's test client.

    ``get`` may raise ``OSError`` (reported as a failed check); other exceptions propagate.
    """
    results = []
    for check in checks:
        expected = describe(check)
        started = time.perf_counter()
        try:
            response = get(check.path)
        except OSError as error:
            results.append(CheckResult(check.path, expected, False, f"request failed: {_describe_error(error)}"))
            continue
        ms = round((time.perf_counter() - started) * 1000)
        problems = _problems(check, response, ms)
        results.append(CheckResult(check.path, expected, not problems, "; ".join(problems), response.status, ms))
    return Report(target, tuple(results))


def wait_until_passing(
    base_url: str,
    checks: Iterable[Check],
    timeout: float,
    *,
    interval: float = 1.0,
    request_timeout: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Run ``checks`` against ``base_url`` every ``interval`` seconds until they all pass or
    ``timeout`` seconds have gone by; return the passing report, or the last failing one
    (pass it to :func:`require_passed` to raise)."""
    checks = tuple(checks)
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        report = run_checks(base_url, checks, timeout=max(0.1, min(request_timeout, remaining)))
        if report.passed or time.monotonic() + interval > deadline:
            return report
        sleep(interval)


def wait_until_serving(
    base_url: str, checks: Iterable[Check], timeout: float, *, interval: float = 0.2, request_timeout: float = 5.0
) -> Report:
    """For a driver's ``up``: :func:`wait_until_passing`, then raise
    :class:`~deployer.errors.DeployFailed` (exit 1) naming each failed check when the
    endpoint does not answer ``checks`` within ``timeout`` seconds (each request within
    ``request_timeout``: more than the app's health timeout for its health path)."""
    report = wait_until_passing(base_url, checks, timeout, interval=interval, request_timeout=request_timeout)
    if not report.passed:
        detail = "\n  ".join(report.lines()) or "no checks ran"
        raise DeployFailed(f"{base_url} did not answer the app's checks within {timeout:.0f} s:\n  {detail}")
    return report


def require_passed(report: Report) -> Report:
    """Return ``report`` when every check passed; else raise :class:`VerifyFailed` naming each
    failed check and why."""
    if report.passed:
        return report
    failed = report.failures or (CheckResult("", "at least one check", False, "no checks ran"),)
    detail = "\n".join(f"  {r.path or '(none)'}: {r.reason}" for r in failed)
    raise VerifyFailed(f"{len(failed)} of {len(report.results)} checks failed against {report.target}:\n{detail}")


def base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a base URL (http or https with a host), or None when it can."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as error:
        return f"is not a valid URL ({error})"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "must name a host (http://host:port)"
    if parts.query or parts.fragment:
        return "must not have a query or fragment; checks add their own paths"
    if any(c.isspace() for c in url):
        return "must not contain spaces"
    return None


def is_loopback(host: str) -> bool:
    """``host`` (a URL's host name, IPv6 without brackets) is this machine, where no proxy
    can reach: ``localhost``, an address in 127.0.0.0/8 or ``::1`` (IPv4-mapped too), or
    the unspecified ``0.0.0.0`` or ``::`` (a local endpoint bound to every interface)."""
    if host.rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # another name
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return any(a.is_loopback or a.is_unspecified for a in (address, mapped) if a is not None)


def http_get(base_url: str, *, timeout: float = DEFAULT_TIMEOUT) -> Get:
    """A :data:`Get` over HTTP(S) with the standard library: no redirects, bodies capped at
    :data:`MAX_BODY_BYTES`, HTTP error statuses returned as responses. Through the proxy
    the environment names (urllib's ``http_proxy``, ``https_proxy``, ``no_proxy``), except
    to this machine (:func:`is_loopback`), which no proxy can reach (Go's net/http, which
    Docker's tools are written in, never proxies loopback either)."""
    problem = base_url_problem(base_url)
    if problem:
        raise ValueError(f"base URL {base_url!r} {problem}")
    base = base_url.rstrip("/")
    direct = (urllib.request.ProxyHandler({}),) if is_loopback(urlsplit(base).hostname or "") else ()
    opener = urllib.request.build_opener(_NoRedirect, *direct)

    def get(path: str) -> Response:
        request = urllib.request.Request(base + path, headers={"User-Agent": "deployer-verify"})
        deadline = time.monotonic() + timeout
        try:
            with opener.open(request, timeout=timeout) as raw:
                return Response(raw.status, dict(raw.headers.items()), read_within(raw, MAX_BODY_BYTES, deadline))
        except urllib.error.HTTPError as error:
            with error:
                body = read_within(error, MAX_BODY_BYTES, deadline)
                return Response(error.code, dict(error.headers.items()), body)
        except http.client.HTTPException as error:  # a malformed or truncated response
            raise OSError(f"invalid HTTP response: {error!r}") from error

    return get


def read_within(response: Any, limit: int, deadline: float) -> bytes:
    """Up to ``limit`` bytes of ``response``'s body (an ``http.client`` response, or
    urllib's), read as they come until ``time.monotonic()`` reaches ``deadline``: a body
    sent a byte at a time cannot hold the reader past it.

    :raises TimeoutError: the body was still coming at ``deadline``.
    """
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        if time.monotonic() > deadline:
            raise TimeoutError("the body was still coming when the request's time ran out")
        chunk = response.read1(min(64 * 1024, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


# --- internals ----------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


def _describe_error(error: OSError) -> str:
    reason = getattr(error, "reason", None)  # URLError wraps the socket error
    return str(reason if reason is not None else error) or type(error).__name__


def _problems(check: Check, response: Response, ms: int) -> list[str]:
    problems = []
    if response.status not in check.status:
        where = response.headers.get("location")
        problems.append(
            f"expected status {check.status}, got {response.status}" + (f" (Location: {where})" if where else "")
        )
    if check.contains and check.contains not in response.body.decode("utf-8", errors="replace"):
        problems.append(f"body lacks {check.contains!r}")
    for name, text in check.headers.items():
        value = response.headers.get(name.lower())
        if value is None:
            problems.append(f"missing header {name}")
        elif text.lower() not in value.lower():
            problems.append(f"header {name} lacks {text!r} (got {value!r})")
    if check.max_ms is not None and ms > check.max_ms:
        problems.append(f"took {ms} ms, more than {check.max_ms} ms")
    return problems
