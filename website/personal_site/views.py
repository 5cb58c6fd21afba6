"""The site's pages and its health endpoint."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template

blueprint = Blueprint("site", __name__)


def _projects():
    return current_app.extensions["projects"]


@blueprint.get("/")
def home():
    return render_template("home.html", featured=list(_projects().values())[:3])


@blueprint.get("/about")
def about():
    return render_template("about.html")


@blueprint.get("/projects")
def project_list():
    return render_template("projects/list.html", projects=_projects().values())


@blueprint.get("/projects/<slug>")
def project_detail(slug: str):
    project = _projects().get(slug)
    if project is None:
        abort(404)
    return render_template("projects/detail.html", project=project)


@blueprint.get("/contact")
def contact():
    return render_template("contact.html")


@blueprint.get("/healthz")
def healthz():
    """Liveness for load balancers and ``deployer verify``: ``{"status": "ok", "version": ...}``."""
    response = jsonify(status="ok", version=current_app.config["VERSION"])
    response.headers["Cache-Control"] = "no-store"
    return response
