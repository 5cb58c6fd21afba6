"""The personal website deployer ships as its sample app.

``create_app()`` is the application factory; gunicorn calls it
(``gunicorn 'personal_site:create_app()'``). Nothing happens at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

__version__ = "1.0.0"

_DEFAULTS: Mapping[str, Any] = {
    "PROJECTS_FILE": Path(__file__).with_name("projects.json"),
    "JSON_SORT_KEYS": False,
}


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app.

    :param overrides: config values applied last (tests pass ``{"TESTING": True}``).
    ``VERSION`` defaults to the ``APP_VERSION`` environment variable, else the package
    version; it is shown in every page footer and returned by ``/healthz``.
    """
    from personal_site import errors, projects, security, views

    app = Flask(__name__)
    app.config.update(_DEFAULTS)
    app.config["VERSION"] = os.environ.get("APP_VERSION") or __version__
    app.config.update(overrides or {})
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True

    app.extensions["projects"] = projects.load(Path(app.config["PROJECTS_FILE"]))
    app.register_blueprint(views.blueprint)
    errors.register(app)
    security.register(app)

    @app.context_processor
    def _site_globals() -> dict[str, Any]:
        return {"version": app.config["VERSION"]}

    return app
