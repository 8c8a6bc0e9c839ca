"""The emulator's WSGI app: the three APIs, the JWKS, and the rules every answer follows
(tagged JSON errors on every route, CORS, the request log)."""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from .backend import PasslockBackend
from .browser_api import browser_api
from .dev_api import dev_api
from .errors import ApiError
from .rest_api import rest_api
from .web import answer, error_answer

log = logging.getLogger(__name__)

#: Tags of the errors Werkzeug raises before a route runs (no route, wrong method, ...).
HTTP_TAGS = {404: "@error/NotFound", 405: "@error/MethodNotAllowed"}


def create_app(backend: PasslockBackend, rp_name: str) -> Flask:
    app = Flask("flask_passlock.emulator")
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep keys in the order given
    app.register_blueprint(rest_api(backend))
    app.register_blueprint(browser_api(backend, rp_name))
    app.register_blueprint(dev_api(backend))

    @app.get("/.well-known/jwks.json")
    def jwks() -> Response:
        return answer(backend.jwks())

    @app.before_request
    def record() -> None:
        backend.record_request(
            request.method, request.environ.get("REQUEST_URI") or request.full_path
        )

    @app.after_request
    def cors(response: Response) -> Response:
        response.headers["Access-Control-Allow-Origin"] = "*"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "content-type"
            response.headers["Access-Control-Max-Age"] = "600"
        return response

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return error_answer(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        tag = HTTP_TAGS.get(status, "@error/BadRequest" if status < 500 else "@error/Internal")
        response = error_answer(ApiError(tag, error.name, status=status))
        if error.response is None:
            response.headers.update(
                (k, v) for k, v in error.get_headers() if k.lower() != "content-type"
            )
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("The Passlock emulator failed in %s", request.endpoint)
        return error_answer(ApiError("@error/Internal"))

    return app
