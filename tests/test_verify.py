"""``deployer verify``: the app's declared checks (``[[checks]]``) over real HTTP against a
small server each test shapes, every kind of check seen passing and failing, the default
checks, the config errors and the command. All traffic stays on 127.0.0.1."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deployer.checks import checks_for, default_checks
from deployer.cli import app
from deployer.config import load_project, parse_project
from deployer.errors import ConfigError, VerifyFailed
from deployer.models import Check, StatusRange
from deployer.verify import Report, is_loopback, require_passed, run_checks, wait_until_passing
from tests.conftest import REFUSING_PROXY, name_proxy

REPO = Path(__file__).resolve().parents[1]


def only_result(report: Report):
    (result,) = report.results
    return result


# --- each kind of check, passing and failing -----------------------------------------------

KINDS = {
    "status": Check("/status", status=200),
    "contains": Check("/status", contains='"state": "ok"'),
    "header": Check("/status", headers={"content-type": "APPLICATION/JSON"}),
    "header presence": Check("/status", headers={"content-type": ""}),
    "max_ms": Check("/status", max_ms=2000),
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_check_passes_on_a_matching_answer(site, kind):
    url, _ = site

    result = only_result(require_passed(run_checks(url, [KINDS[kind]])))

    assert result.passed and result.status == 200 and result.ms is not None


@pytest.mark.parametrize(
    ("kind", "answer", "reason"),
    [
        ("status", (503, {"Content-Type": "application/json"}, b'{"state": "ok"}', 0), "expected status 200, got 503"),
        ("contains", (200, {"Content-Type": "application/json"}, b'{"state": "down"}', 0), "body lacks"),
        (
            "header",
            (200, {"Content-Type": "text/html"}, b'{"state": "ok"}', 0),
            "header content-type lacks 'APPLICATION/JSON' (got 'text/html')",
        ),
        ("header presence", (200, {}, b'{"state": "ok"}', 0), "missing header content-type"),
        ("max_ms", (200, {"Content-Type": "application/json"}, b'{"state": "ok"}', 2.5), "more than 2000 ms"),
    ],
)
def test_each_kind_of_check_fails_naming_what_was_wrong(site, kind, answer, reason):
    url, routes = site
    routes["/status"] = answer

    result = only_result(run_checks(url, [KINDS[kind]]))

    assert not result.passed
    assert reason in result.reason


def test_a_check_with_every_key_names_each_problem(site):
    url, routes = site
    routes["/status"] = (500, {"Content-Type": "text/plain"}, b"boom", 0)
    check = Check("/status", status=200, contains="ok", headers={"content-type": "json", "x-id": ""}, max_ms=1000)

    result = only_result(run_checks(url, [check]))

    assert result.reason == (
        "expected status 200, got 500; body lacks 'ok'; header content-type lacks 'json' (got 'text/plain'); "
        "missing header x-id"
    )
    assert result.expected == (
        "status 200, contains 'ok', header content-type has 'json', header x-id present, within 1000 ms"
    )


def test_redirects_are_not_followed_and_the_location_is_named(site):
    url, routes = site
    routes["/status"] = (301, {"Location": "/status/"}, b"", 0)

    result = only_result(run_checks(url, [Check("/status")]))

    assert result.reason == "expected status 200, got 301 (Location: /status/)"


def test_nothing_listening_fails_every_check_quickly():
    started = time.monotonic()
    report = run_checks("http://127.0.0.1:9", default_checks(), timeout=2)

    assert not report.passed and len(report.failures) == 2
    assert all(c.reason.startswith("request failed:") and "refused" in c.reason for c in report.failures)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("host", "mine"),
    [
        *((host, True) for host in ("127.0.0.1", "127.9.9.9", "localhost", "localhost.", "::1", "::ffff:127.0.0.1")),
        *((host, True) for host in ("0.0.0.0", "::")),  # a local endpoint bound to every interface
        *((host, False) for host in ("localhost.example.com", "foo.localhost", "example.com", "10.0.0.1")),
        ("::ffff:10.0.0.1", False),
    ],
)
def test_is_loopback_means_this_machine(host, mine):
    assert is_loopback(host) is mine


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_loopback_url_is_asked_directly_whatever_proxy_the_shell_names(site, monkeypatch, host):
    """A proxy cannot reach this machine's loopback, where the local target serves: as
    Go's net/http does, loopback hosts never go through ``http_proxy``."""
    base, _ = site
    name_proxy(monkeypatch, REFUSING_PROXY)
    report = run_checks(base.replace("127.0.0.1", host), [Check("/status")], timeout=5)
    assert report.passed, report


def test_any_other_url_goes_through_the_proxy_the_shell_names(site, monkeypatch):
    """Where the only way out is a proxy (an endpoint on the internet seen from an office
    network), the checks take it."""
    proxy, routes = site
    routes["http://deployer-test.invalid/status"] = (200, {}, b"through the proxy", 0.0)
    name_proxy(monkeypatch, proxy)
    report = run_checks("http://deployer-test.invalid", [Check("/status", contains="through the proxy")], timeout=5)
    assert report.passed, report


def test_no_checks_is_not_a_pass(site):
    url, _ = site
    report = run_checks(url, [])

    assert not report.passed
    with pytest.raises(VerifyFailed, match="no checks ran"):
        require_passed(report)


def test_require_passed_names_each_failed_check(site):
    url, routes = site
    routes["/a"] = (200, {}, b"", 0)
    report = run_checks(url, [Check("/a"), Check("/b"), Check("/status", status=201)])

    with pytest.raises(VerifyFailed) as caught:
        require_passed(report)

    message = str(caught.value)
    assert message.startswith(f"2 of 3 checks failed against {url}:")
    assert "  /b: expected status 200, got 404" in message
    assert "  /status: expected status 201, got 200" in message
    assert caught.value.exit_code == 1


@pytest.mark.parametrize("base", ["127.0.0.1:8000", "ftp://host", "http://", "http://h:port"])
def test_a_base_url_must_be_http_with_a_host(base):
    with pytest.raises(ValueError, match="base URL"):
        run_checks(base, default_checks())


# --- the default checks: the health path and / ------------------------------------------


def test_without_declared_checks_the_health_path_must_answer_2xx_and_home_below_500(site):
    url, routes = site
    routes["/healthz"] = (204, {}, b"", 0)  # "/" answers 404: fine, the app is up

    assert [str(c.status) for c in default_checks()] == ["2xx", "below 500"]
    assert run_checks(url, default_checks()).passed

    routes["/"] = (500, {}, b"boom", 0)
    routes["/healthz"] = (302, {"Location": "/login"}, b"", 0)
    reasons = [r.reason for r in run_checks(url, default_checks()).results]
    assert reasons == [
        "expected status 2xx, got 302 (Location: /login)",
        "expected status below 500, got 500",
    ]


def test_the_defaults_follow_the_apps_health_path(make_project):
    project = load_project(
        make_project("""
        [app]
        name = "demo"
        [app.build]
        context = "app"
        [app.health]
        path = "/ready"
    """)
    )

    assert project.checks == ()
    assert [c.path for c in checks_for(project)] == ["/ready", "/"]
    assert checks_for(None) == default_checks("/healthz")
    assert default_checks("/") == (Check("/", status=StatusRange(200, 299)),)


# --- waiting until the checks pass --------------------------------------------------------


def test_wait_until_passing_returns_once_the_app_answers(site):
    url, routes = site
    routes["/status"] = (503, {}, b"", 0)
    threading.Timer(0.5, lambda: routes.update({"/status": (200, {}, b"", 0)})).start()

    report = wait_until_passing(url, [Check("/status")], timeout=10, interval=0.1)

    assert report.passed


def test_wait_until_passing_gives_up_with_the_last_failing_report(site):
    url, routes = site
    routes["/status"] = (503, {}, b"", 0)
    started = time.monotonic()

    report = wait_until_passing(url, [Check("/status")], timeout=0.6, interval=0.1)

    assert not report.passed and report.failures[0].reason == "expected status 200, got 503"
    assert time.monotonic() - started < 3


# --- [[checks]] in the config --------------------------------------------------------------

APP = """
[app]
name = "demo"
[app.build]
context = "app"
"""


def test_checks_are_read_from_the_config(make_project):
    project = load_project(
        make_project(
            APP
            + textwrap.dedent("""
            [[checks]]
            path = "/status"
            status = 200
            contains = "ok"
            header = { "Content-Type" = "application/json" }
            max_ms = 500

            [[checks]]
            path = "/gone?x=1"
            status = 410
            """)
        )
    )

    assert project.checks == (
        Check("/status", status=200, contains="ok", headers={"content-type": "application/json"}, max_ms=500),
        Check("/gone?x=1", status=410),
    )
    assert checks_for(project) == project.checks


@pytest.mark.parametrize(
    ("checks", "key", "message"),
    [
        ("checks = 5", "checks", "must be an array of tables"),
        ("checks = []", "checks", "must not be empty"),
        ("checks = [1]", "checks[0]", "must be a table"),
        ("[[checks]]\nstatus = 200", "checks[0].path", "is required"),
        ('[[checks]]\npath = "status"', "checks[0].path", "a URL path starting with /"),
        ('[[checks]]\npath = "/a b"', "checks[0].path", "without spaces or #"),
        ('[[checks]]\npath = "/a#top"', "checks[0].path", "without spaces or #"),
        ('[[checks]]\npath = "/\u00e9"', "checks[0].path", "printable ASCII"),
        ('[[checks]]\npath = "/"\n[[checks]]\npath = "/"\nstatus = 600', "checks[1].status", "between 100 and 599"),
        ('[[checks]]\npath = "/"\nstatus = 99', "checks[0].status", "between 100 and 599"),
        ('[[checks]]\npath = "/"\nstatus = "200"', "checks[0].status", "must be an integer"),
        ('[[checks]]\npath = "/"\ncontains = ""', "checks[0].contains", "some text"),
        ('[[checks]]\npath = "/"\ncontains = 1', "checks[0].contains", "must be a string"),
        ('[[checks]]\npath = "/"\nheader = "x"', "checks[0].header", "must be a table"),
        ('[[checks]]\npath = "/"\nheader = { "bad name" = "x" }', "checks[0].header.bad name", "header name"),
        ('[[checks]]\npath = "/"\nheader = { "A" = "x", "a" = "y" }', "checks[0].header.a", "given twice"),
        ('[[checks]]\npath = "/"\nheader = { "a" = [] }', "checks[0].header.a", "must be a string"),
        ('[[checks]]\npath = "/"\nmax_ms = 0', "checks[0].max_ms", "between 1 and 60000"),
        ('[[checks]]\npath = "/"\nmax_ms = 60001', "checks[0].max_ms", "between 1 and 60000"),
        ('[[checks]]\npath = "/"\nmax_ms = 1.5', "checks[0].max_ms", "must be an integer"),
        ('[[checks]]\npath = "/"\nexpect = 200', "checks[0].expect", "is not a known key"),
    ],
)
def test_a_bad_check_is_a_config_error_naming_the_key(make_project, checks, key, message):
    # a bare key must come before the first table; [[checks]] tables may come anywhere
    config = make_project(APP + checks + "\n" if checks.startswith("[[") else checks + "\n" + APP)

    with pytest.raises(ConfigError) as caught:
        load_project(config)
    assert caught.value.key == key and message in caught.value.message

    result = CliRunner().invoke(app, ["verify", "--url", "http://127.0.0.1:9", "--config", str(config)])
    assert result.exit_code == 2
    assert f"{key}: " in result.stderr


def test_checks_in_pyproject_are_named_under_tool_deployer(tmp_path):
    document = {"app": {"name": "demo", "build": {"context": "."}}, "checks": [{"path": "/", "status": 1000}]}
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")

    with pytest.raises(ConfigError) as caught:
        parse_project(document, root=tmp_path, prefix="tool.deployer")

    assert caught.value.key == "tool.deployer.checks[0].status"


# --- the command ----------------------------------------------------------------------


def write_config(tmp_path: Path, checks: str) -> Path:
    (tmp_path / "app").mkdir(exist_ok=True)
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    config = tmp_path / "deployer.toml"
    config.write_text(textwrap.dedent(APP) + textwrap.dedent(checks))
    return config


def test_cli_verify_url_runs_the_declared_checks(site, tmp_path):
    url, routes = site
    config = write_config(
        tmp_path,
        """
        [[checks]]
        path = "/status"
        contains = "ok"
        header = { "content-type" = "json" }
        """,
    )

    good = CliRunner().invoke(app, ["verify", "--url", url, "--config", str(config)])
    assert good.exit_code == 0, good.output
    assert "PASS /status: status 200, contains 'ok', header content-type has 'json' (" in good.stdout
    assert f"1 of 1 checks passed against {url}" in good.stdout

    routes["/status"] = (200, {"Content-Type": "application/json"}, b'{"state": "down"}', 0)
    bad = CliRunner().invoke(app, ["verify", "--url", url, "--config", str(config), "--json"])
    assert bad.exit_code == 1
    report = json.loads(bad.stdout)
    assert report["passed"] is False and report["target"] == url
    (result,) = report["results"]
    assert result["path"] == "/status" and result["passed"] is False and result["status"] == 200
    assert result["reason"] == "body lacks 'ok'"


def test_cli_verify_url_without_a_config_runs_the_default_checks(site, tmp_path, monkeypatch):
    url, routes = site
    monkeypatch.chdir(tmp_path)  # no deployer.toml here or above
    routes["/healthz"] = (200, {}, b"", 0)

    result = CliRunner().invoke(app, ["verify", "--url", url])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == [
        f"PASS /healthz: status 2xx ({only_ms(result.stdout, 0)} ms)",
        f"PASS /: status below 500 ({only_ms(result.stdout, 1)} ms)",
    ]


def only_ms(stdout: str, line: int) -> str:
    return stdout.splitlines()[line].rsplit("(", 1)[1].split(" ms)")[0]


@pytest.mark.parametrize("bad", ["127.0.0.1:8000", "ftp://example.com", "http://", "http://host:port", "https:///x"])
def test_cli_verify_refuses_a_url_that_is_not_http_with_a_host(bad):
    result = CliRunner().invoke(app, ["verify", "--url", bad])

    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --url: {bad!r}")


@pytest.mark.parametrize(
    ("given", "named"),
    [
        (["--target", "local"], "--target"),
        (["-s", "prod"], "--stack"),
        (["--stack", "dev", "-t", "aws-ecs"], "--target and --stack"),
    ],
)
def test_cli_verify_refuses_url_with_target_or_stack(given, named):
    result = CliRunner().invoke(app, ["verify", "--url", "http://127.0.0.1:9", *given])

    assert result.exit_code == 2
    assert f"--url: cannot be combined with {named}" in result.stderr


def test_cli_verify_unknown_target_or_bad_stack_is_a_usage_error(make_project):
    config = str(make_project())

    unknown = CliRunner().invoke(app, ["verify", "--target", "nowhere", "--config", config])
    assert unknown.exit_code == 2 and "unknown target 'nowhere'" in unknown.stderr

    bad_stack = CliRunner().invoke(app, ["verify", "--stack", "Prod!", "--config", config])
    assert bad_stack.exit_code == 2 and "--stack" in bad_stack.stderr


def test_cli_verify_target_runs_the_projects_checks_against_its_endpoint(
    site, tmp_path, deployer_plugin_manager, monkeypatch
):
    from deployer import api
    from tests.core.memory_target import MemoryTarget

    url, _ = site
    deployer_plugin_manager(("memory", MemoryTarget()))
    config = str(write_config(tmp_path, '[[checks]]\npath = "/status"\ncontains = "ok"\n'))

    nothing = CliRunner().invoke(app, ["verify", "--target", "memory", "--config", config])
    assert nothing.exit_code == 2 and "nothing is deployed" in nothing.stderr

    monkeypatch.setattr(api, "deployed_url", lambda session: url)
    result = CliRunner().invoke(app, ["verify", "--target", "memory", "--config", config, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] is True and [r["path"] for r in report["results"]] == ["/status"]


# --- the sample website -----------------------------------------------------------------


def test_the_repository_config_checks_the_sample_website():
    checks = load_project(REPO / "deployer.toml").checks

    assert {"/", "/about", "/projects", "/contact", "/healthz", "/static/style.css"} <= {c.path for c in checks}
    assert all(c.contains or c.path == "/static/style.css" for c in checks)
    assert all({"content-type", "x-frame-options", "content-security-policy"} <= set(c.headers) for c in checks)


@pytest.mark.docker
def test_the_website_container_passes_the_repository_checks(website_url):
    checks = load_project(REPO / "deployer.toml").checks

    report = require_passed(run_checks(website_url, checks))

    assert len(report.results) == len(checks)


def test_a_body_sent_a_byte_at_a_time_fails_its_check_within_the_timeout():
    """Headers at once, then one byte every 0.3 s of a 1 kB body: the check fails when its
    time is up instead of reading for five minutes (before: each byte reset the timeout)."""
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            while not stop.wait(0.3):
                connection.sendall(b"x")

    threading.Thread(target=trickle, daemon=True).start()
    started = time.monotonic()
    try:
        report = run_checks(f"http://127.0.0.1:{server.getsockname()[1]}", [Check("/healthz")], timeout=1.5)
    finally:
        stop.set()
        server.close()
    assert time.monotonic() - started < 4
    assert not report.passed and "still coming" in report.lines()[0], report.lines()
