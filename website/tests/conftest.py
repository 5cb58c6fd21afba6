"""Fixtures for the website's own tests: the Flask app, the verify adapter and the
checks the repository's deployer.toml declares for the deployed site.

The website is not an installed package; its folder goes on ``sys.path`` here so
``import personal_site`` works exactly as in the image (WORKDIR /srv/website).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

WEBSITE = Path(__file__).resolve().parents[1]
CONFIG = WEBSITE.parent / "deployer.toml"


@pytest.fixture(scope="session", autouse=True)
def _website_importable():
    sys.path.insert(0, str(WEBSITE))
    yield
    sys.path.remove(str(WEBSITE))


@pytest.fixture
def app():
    from personal_site import create_app

    return create_app({"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def verify_get(client):
    """``deployer.verify``'s ``get(path) -> Response`` over the Flask test client."""
    from deployer.verify import Response

    def get(path: str) -> Response:
        response = client.get(path)
        return Response(response.status_code, dict(response.headers), response.data)

    return get


@pytest.fixture(scope="session")
def site_checks():
    """The ``[[checks]]`` of the repository's deployer.toml: what ``deployer verify`` checks."""
    from deployer.config import load_project

    checks = load_project(CONFIG).checks
    assert checks, f"{CONFIG} declares no [[checks]]"
    return checks
