"""The website through Flask's test client, judged by the same checks as a deployment."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from deployer.verify import run_checks_with


def test_the_deployment_checks_pass_on_the_app(verify_get, site_checks):
    report = run_checks_with(verify_get, site_checks, target="flask test client")

    assert report.passed, "\n".join(report.lines())
    assert {"/", "/about", "/projects", "/contact", "/healthz"} <= {check.path for check in site_checks}


def test_the_deployment_checks_fail_on_a_broken_app(app, site_checks):
    """The declared checks can fail: a site without its security headers fails each page."""
    app.after_request_funcs[None].insert(0, _strip_frame_options)  # runs last (Flask reverses them)

    report = run_checks_with(_get(app.test_client()), site_checks)

    assert len(report.failures) == len(site_checks)
    assert all("missing header x-frame-options" in failure.reason for failure in report.failures)


def test_every_linked_project_page_and_the_stylesheet_work(client):
    """What [[checks]] cannot say: every project the projects page links to, and the
    stylesheet each page links, answer 200 with the right content type."""
    projects = _links(client.get("/projects"), "a", prefix="/projects/")
    stylesheets = _links(client.get("/"), "link", rel="stylesheet")

    assert {"/projects/deployer", "/projects/field-notes", "/projects/tiny-load-tester"} <= set(projects)
    assert stylesheets == ["/static/style.css"]
    for path in projects:
        _assert_page(client, path, "text/html")
    _assert_page(client, stylesheets[0], "text/css")


def test_a_new_project_is_linked_and_served_without_touching_the_checks(tmp_path):
    from personal_site import create_app

    data = json.loads((create_app().config["PROJECTS_FILE"]).read_text())
    data.append({"slug": "brand-new", "title": "Brand new", "summary": "Just added."})
    projects = tmp_path / "projects.json"
    projects.write_text(json.dumps(data))
    client = create_app({"TESTING": True, "PROJECTS_FILE": projects}).test_client()

    links = _links(client.get("/projects"), "a", prefix="/projects/")

    assert "/projects/brand-new" in links
    for path in links:
        _assert_page(client, path, "text/html")


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


def test_an_unhandled_error_gets_the_500_template_without_details(site_checks):
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
    _assert_security_headers(response, site_checks)


def test_wrong_method_keeps_allow_header(client):
    response = client.post("/about")

    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD"}


@pytest.mark.parametrize("path", ["/", "/healthz", "/static/style.css", "/no-such-page"])
def test_security_headers_on_every_kind_of_response(client, path, site_checks):
    response = client.get(path)

    _assert_security_headers(response, site_checks)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_malformed_project_data_fails_at_start_up(tmp_path):
    from personal_site import create_app

    bad = tmp_path / "projects.json"
    bad.write_text(json.dumps([{"slug": "Not A Slug", "title": "x", "summary": "y"}]))

    with pytest.raises(ValueError, match="entry 0: slug 'Not A Slug'"):
        create_app({"PROJECTS_FILE": bad})


def _assert_security_headers(response, checks):
    """The headers deployer.toml's checks require of every page, on ``response`` too."""
    required = {name: text for check in checks for name, text in check.headers.items()}
    required.pop("content-type")
    assert required, "deployer.toml's checks require no security header"
    for name, text in required.items():
        assert text.lower() in response.headers[name].lower(), name


def _get(client):
    from deployer.verify import Response

    def get(path):
        response = client.get(path)
        return Response(response.status_code, dict(response.headers), response.data)

    return get


def _strip_frame_options(response):
    del response.headers["X-Frame-Options"]
    return response


def _assert_page(client, path, media_type):
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.mimetype == media_type, path


def _links(response, element, *, rel="", prefix="/"):
    """Site-relative paths (query and fragment dropped) that ``element`` tags link to, in
    document order without repeats; ``rel`` filters ``<link>`` elements."""
    from urllib.parse import urlsplit

    assert response.status_code == 200 and response.mimetype == "text/html"
    parser = _LinkParser(element, rel)
    parser.feed(response.get_data(as_text=True))
    paths = []
    for href in parser.hrefs:
        parts = urlsplit(href)
        if not parts.scheme and not parts.netloc and parts.path.startswith(prefix) and parts.path not in paths:
            paths.append(parts.path)
    return paths


class _LinkParser(HTMLParser):
    def __init__(self, element, rel):
        super().__init__()
        self.element, self.rel, self.hrefs = element, rel.lower(), []

    def handle_starttag(self, tag, attrs):
        values = {name: value or "" for name, value in attrs}
        if tag != self.element or (self.rel and self.rel not in values.get("rel", "").lower().split()):
            return
        if values.get("href"):
            self.hrefs.append(values["href"])
