"""HTML error pages with the right status codes."""

from __future__ import annotations

from flask import Flask, make_response, render_template
from werkzeug.exceptions import HTTPException, InternalServerError


def register(app: Flask) -> None:
    """Render 404 and every other HTTP error with the site's templates.

    Unhandled exceptions reach the 500 handler as ``InternalServerError`` (Flask logs
    the traceback); the page never shows exception details.
    """

    @app.errorhandler(404)
    def _not_found(error: HTTPException):
        return render_template("404.html"), 404

    @app.errorhandler(InternalServerError)
    def _server_error(error: HTTPException):
        return render_template("500.html"), 500

    @app.errorhandler(HTTPException)
    def _other_http_error(error: HTTPException):
        response = make_response(render_template("error.html", error=error), error.code)
        for name, value in error.get_headers():  # e.g. Allow on 405
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
