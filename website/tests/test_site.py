"""The website through Flask's test client, judged by the same checks as a deployment."""

from __future__ import annotations

import json

import pytest

from deployer.verify import DEFAULT_SUITE, SECURITY_HEADERS, Response, run_checks_with


def test_the_deployment_checks_pass_on_the_app(verify_get):
    report = run_checks_with(verify_get, target="flask test client")

    assert report.passed, "\n".join(report.lines())
    names = {result.name for result in report.checks}
    assert {check.name for check in DEFAULT_SUITE.checks} <= names
    assert {"project deployer", "project field-notes", "project tiny-load-tester", "stylesheet style.css"} <= names


def test_a_new_project_is_verified_without_touching_the_checks(tmp_path):
    from personal_site import create_app

    data = json.loads((create_app().config["PROJECTS_FILE"]).read_text())
    data.append({"slug": "brand-new", "title": "Brand new", "summary": "Just added."})
    projects = tmp_path / "projects.json"
    projects.write_text(json.dumps(data))
    client = create_app({"TESTING": True, "PROJECTS_FILE": projects}).test_client()

    def get(path):
        response = client.get(path)
        return Response(response.status_code, dict(response.headers), response.data)

    report = run_checks_with(get)

    assert report.passed
    assert "project brand-new" in {result.name for result in report.checks}


@pytest.mark.parametrize("path", ["/", "/about", "/projects", "/projects/deployer", "/contact"])
def test_pages_share_the_base_template_and_show_the_version(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/style.css">' in body
    assert 'data-version="1.0.0"' in body


def test_each_project_page_renders_its_data(client):
    body = client.get("/projects/tiny-load-tester").get_data(as_text=True)

    assert "<h1>Tiny load tester</h1>" in body
    assert "open-loop clock" in body


def test_version_comes_from_app_version(monkeypatch):
    from personal_site import create_app

    monkeypatch.setenv("APP_VERSION", "2024.06.1-rc1")
    client = create_app({"TESTING": True}).test_client()

    assert client.get("/healthz").get_json() == {"status": "ok", "version": "2024.06.1-rc1"}
    assert 'data-version="2024.06.1-rc1"' in client.get("/").get_data(as_text=True)


def test_healthz_is_json_and_never_cached(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "version": "1.0.0"}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/no-such-page", "/projects/no-such-project"])
def test_missing_pages_get_the_404_template(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<h1>Page not found</h1>" in response.get_data(as_text=True)


def test_an_unhandled_error_gets_the_500_template_without_details():
    from personal_site import create_app

    app = create_app()  # not TESTING: exceptions are handled as in production

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    response = app.test_client().get("/boom")

    assert response.status_code == 500
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "<h1>Something went wrong</h1>" in body
    assert "secret detail" not in body
    _assert_security_headers(response)


def test_wrong_method_keeps_allow_header(client):
    response = client.post("/about")

    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD"}


@pytest.mark.parametrize("path", ["/", "/healthz", "/static/style.css", "/no-such-page"])
def test_security_headers_on_every_kind_of_response(client, path):
    response = client.get(path)

    _assert_security_headers(response)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_malformed_project_data_fails_at_start_up(tmp_path):
    from personal_site import create_app

    bad = tmp_path / "projects.json"
    bad.write_text(json.dumps([{"slug": "Not A Slug", "title": "x", "summary": "y"}]))

    with pytest.raises(ValueError, match="entry 0: slug 'Not A Slug'"):
        create_app({"PROJECTS_FILE": bad})


def _assert_security_headers(response):
    for header in SECURITY_HEADERS:
        assert header.contains.lower() in response.headers[header.name].lower()
