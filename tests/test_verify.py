"""``deployer verify``'s checks over real HTTP: the website container passes, a site that
answers wrongly fails naming each wrong check. All traffic stays on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deployer.errors import VerifyFailed
from deployer.verify import SECURITY_HEADERS, require_passed, run_checks

GOOD_HEADERS = {header.name: header.contains or "no-referrer" for header in SECURITY_HEADERS}
HTML = "text/html; charset=utf-8"


# --- a small site whose answers each test chooses ---------------------------------------


def good_site() -> dict[str, tuple[int, str, bytes, dict[str, str]]]:
    """path -> (status, content type, body, headers) for a site that passes every check."""
    page = b'<html><head><link rel="stylesheet" href="/s.css"></head><body>hi</body></html>'
    listing = b'<a href="/projects/one">One</a> <a href="/projects/two?x=1#top">Two</a> <a href="/about">About</a>'
    return {
        "/": (200, HTML, page, GOOD_HEADERS),
        "/about": (200, HTML, page, GOOD_HEADERS),
        "/projects": (200, HTML, listing, GOOD_HEADERS),
        "/projects/one": (200, HTML, page, GOOD_HEADERS),
        "/projects/two": (200, HTML, page, GOOD_HEADERS),
        "/contact": (200, HTML, page, GOOD_HEADERS),
        "/healthz": (200, "application/json", b'{"status": "ok", "version": "x"}', GOOD_HEADERS),
        "/s.css": (200, "text/css", b"body{}", GOOD_HEADERS),
    }


@pytest.fixture
def fake_site() -> Iterator[tuple[str, dict]]:
    """A threaded HTTP server on 127.0.0.1 answering from a dict the test may edit."""
    routes = good_site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, content_type, body, headers = routes.get(
                self.path.split("?")[0], (404, HTML, b"<h1>missing</h1>", GOOD_HEADERS)
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", routes
    server.shutdown()
    server.server_close()


# --- against the fake site ------------------------------------------------------------


def test_a_correct_site_passes_and_links_are_followed(fake_site):
    url, _ = fake_site

    report = require_passed(run_checks(url))

    assert [c.name for c in report.checks] == [
        "home",
        "about",
        "projects",
        "contact",
        "healthz",
        "not found",
        "stylesheet s.css",
        "project one",
        "project two",
    ]


def test_wrong_answers_fail_naming_each_check(fake_site):
    url, routes = fake_site
    routes["/about"] = (200, HTML, b"about", {k: v for k, v in GOOD_HEADERS.items() if k != "X-Frame-Options"})
    routes["/projects/two"] = (500, HTML, b"boom", GOOD_HEADERS)
    routes["/healthz"] = (200, "application/json", b'{"status": "degraded"}', GOOD_HEADERS)
    routes["/s.css"] = (200, "text/plain", b"body{}", GOOD_HEADERS)

    report = run_checks(url)

    assert {c.name: c.reason for c in report.failures} == {
        "about": "missing header X-Frame-Options",
        "project two": "expected status 200, got 500",
        "healthz": "expected JSON status='ok', got 'degraded'",
        "stylesheet s.css": "expected content type text/css, got text/plain",
    }
    with pytest.raises(VerifyFailed) as caught:
        require_passed(report)
    message = str(caught.value)
    assert message.startswith(f"4 of 9 checks failed against {url}:")
    for name in ("about (/about)", "project two (/projects/two)", "healthz (/healthz)", "stylesheet s.css"):
        assert name in message
    assert caught.value.exit_code == 1


def test_a_projects_page_without_project_links_fails(fake_site):
    url, routes = fake_site
    routes["/projects"] = (200, HTML, b"<p>coming soon</p>", GOOD_HEADERS)

    failures = run_checks(url).failures

    assert [(c.name, c.reason) for c in failures] == [
        ("projects", "expected at least 1 link(s) to /projects/... (project), found 0")
    ]


def test_a_200_for_missing_pages_and_redirects_are_failures(fake_site):
    url, routes = fake_site
    routes["/deployer-verify/no-such-page"] = (200, HTML, b"soft 404", GOOD_HEADERS)
    routes["/contact"] = (301, HTML, b"", {**GOOD_HEADERS, "Location": "/contact/"})

    reasons = {c.name: c.reason for c in run_checks(url).failures}

    assert reasons == {
        "not found": "expected status 404, got 200",
        "contact": "expected status 200, got 301 (Location: /contact/)",
    }


def test_weak_csp_is_named(fake_site):
    url, routes = fake_site
    weak = {**GOOD_HEADERS, "Content-Security-Policy": "default-src *"}
    routes["/"] = (200, HTML, routes["/"][2], weak)

    (failure,) = run_checks(url).failures

    assert failure.name == "home"
    assert "Content-Security-Policy lacks \"frame-ancestors 'none'\"" in failure.reason


def test_nothing_listening_fails_every_check_quickly():
    started = time.monotonic()
    report = run_checks("http://127.0.0.1:9", timeout=2)

    assert not report.passed and len(report.failures) == 6
    assert all(c.reason.startswith("request failed:") and "refused" in c.reason for c in report.failures)
    assert time.monotonic() - started < 5


def test_a_base_url_must_be_http():
    with pytest.raises(ValueError, match="http:// or https://"):
        run_checks("127.0.0.1:8000")


# --- against the real website container ------------------------------------------------


@pytest.mark.docker
def test_the_website_container_passes_verify(website_url):
    report = require_passed(run_checks(website_url))

    assert {"project deployer", "project field-notes", "project tiny-load-tester", "stylesheet style.css"} <= {
        c.name for c in report.checks
    }


# --- the command ----------------------------------------------------------------------


def test_cli_verify_url_exits_0_on_a_correct_site_and_1_naming_the_failed_check(fake_site):
    from typer.testing import CliRunner

    from deployer.cli import app

    url, routes = fake_site
    good = CliRunner().invoke(app, ["verify", "--url", url])
    assert good.exit_code == 0, good.output
    assert "PASS healthz /healthz" in good.stdout

    routes["/healthz"] = (500, "text/plain", b"boom", GOOD_HEADERS)
    bad = CliRunner().invoke(app, ["verify", "--url", url, "--json"])
    assert bad.exit_code == 1
    checks = {c["name"]: c for c in json.loads(bad.stdout)["checks"]}
    assert checks["healthz"]["passed"] is False and "500" in checks["healthz"]["reason"]
    assert checks["home"]["passed"] is True
