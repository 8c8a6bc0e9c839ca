"""The ``passlock`` blueprint itself: its error boundary, the preamble of its POST routes, and
the template globals its pages and macros use. The routes are in :mod:`flask_passlock.views`
(and :mod:`flask_passlock.recovery`).

One error boundary covers every route: a database error is 503 ``storage_error``, malformed
input 400, a malformed or missing answer from Passlock 502/503; nothing answers 500. Every
route answers JSON when the request has a JSON body or prefers JSON in ``Accept``, HTML
otherwise: ``{"code": ..., "detail": ...}`` or the ``passlock/error.html`` page.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from . import ceremony
from ._http import error_page, error_response, read_body, wants_json
from .csrf import check_same_origin
from .exceptions import NotSignedIn, PasslockError, StorageError
from .messages import browser_messages, message
from .state import get_state

logger = logging.getLogger("flask_passlock")

blueprint = Blueprint(
    "passlock",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def require_user() -> Any:
    """The signed-in user; :class:`~flask_passlock.exceptions.NotSignedIn` without one."""
    user = get_state().extension.get_current_user()
    if user is None:
        raise NotSignedIn()
    return user


# -- the error boundary -----------------------------------------------------------------------


@blueprint.errorhandler(PasslockError)
def handle_passlock_error(error: PasslockError) -> ResponseReturnValue:
    return error_response(error)


@blueprint.errorhandler(SQLAlchemyError)
def handle_database_error(error: SQLAlchemyError) -> ResponseReturnValue:
    """The database failed outside a transaction (loading the user, a listing...)."""
    store = get_state().store
    if store is not None:
        store.rollback()
    logger.error("Database error, rolled back: %s", type(error).__name__)
    if request.method == "POST" and request.endpoint in _CREATING:
        ceremony.discard_unread()
    return error_response(StorageError(reason=type(error).__name__))


#: The routes whose ceremony created a new passkey at Passlock before the request came.
_CREATING = ("passlock.register", "passlock.signup")


@blueprint.teardown_request
def end_transaction(error: BaseException | None) -> None:
    """End the request's database session here, where a connection that died after the
    answer was made cannot turn it into a 500 (Flask-SQLAlchemy's own teardown would raise)."""
    store = get_state().store
    if store is not None:
        try:
            store.session.remove()
        except SQLAlchemyError:
            pass


@blueprint.errorhandler(HTTPException)
def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    """Werkzeug's own errors inside the blueprint (404, 405, 413...) in the format asked
    for, on the package's page."""
    status = error.code or 400
    code = {404: "page_not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        status, (error.name or "error").lower().replace(" ", "_")
    )
    detail = message(code) if code in _HTTP_CODES else str(error.description or error.name)
    headers = dict(error.get_headers())
    headers.pop("Content-Type", None)
    if wants_json():
        return jsonify(code=code, detail=detail), status, headers
    return error_page(status, code, detail, headers)


_HTTP_CODES = {"page_not_found", "method_not_allowed", "payload_too_large"}

#: The blueprint's routes of each app, without the catch-all (to tell 404 from 405).
_OWN_ROUTES: weakref.WeakKeyDictionary[Any, Map] = weakref.WeakKeyDictionary()


@blueprint.route("/<path:unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown_page(unknown: str) -> ResponseReturnValue:
    """Any other URL under the prefix: 404, or 405 where it exists for other methods."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app not in _OWN_ROUTES:
        _OWN_ROUTES[app] = Map(
            [
                Rule(r.rule, endpoint=r.endpoint, methods=r.methods)
                for r in app.url_map.iter_rules()
                if r.endpoint.startswith("passlock.") and r.endpoint != "passlock.unknown_page"
            ]
        )
    adapter = _OWN_ROUTES[app].bind("localhost")
    try:
        adapter.match(request.path, method=request.method)
    except MethodNotAllowed as error:
        raise error from None
    except HTTPException:
        pass
    raise NotFound()


# -- template globals -------------------------------------------------------------------------


@blueprint.app_template_global("passlock_browser_config")
def browser_config() -> dict[str, Any]:
    """The public config for the browser (``passlock/macros.html``)."""
    return get_state().extension.browser_config()


@blueprint.app_template_global("passlock_passkey_ids")
def passkey_ids() -> list[str]:
    """The signed-in user's passkey ids ([] when nobody is signed in): ``exclude`` of the
    register macros, so a device cannot create a second passkey for one account."""
    try:
        user = get_state().extension.get_current_user()
    except RuntimeError:  # no way to tell who is signed in (a page rendered outside an app)
        return []
    store = get_state().store
    return store.passkey_ids_for(user) if user is not None and store is not None else []


@blueprint.app_template_global("passlock_browser_messages")
def template_browser_messages() -> dict[str, str]:
    """The ``js.*`` sentences for passlock.js (overrides applied)."""
    return browser_messages()


@blueprint.app_template_global("passlock_message")
def template_message(key: str, **fields: Any) -> str:
    """A sentence of the catalogue (:mod:`flask_passlock.messages`)."""
    return message(key, **fields)


View = Callable[..., ResponseReturnValue]


def action(
    rule: str, *, signed_in: bool = False, limit: str | None = None
) -> Callable[[View], View]:
    """Register a POST route: cross-site check, rate limit (group ``limit``), the signed-in
    user (when ``signed_in``), then the body. The view gets ``data`` and ``user``."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(**kwargs: Any) -> ResponseReturnValue:
            check_same_origin()
            limiter = get_state().rate_limiter
            if limiter is not None and limit is not None:
                limiter.hit(limit)
            user = require_user() if signed_in else None
            return view(data=read_body(), user=user, **kwargs)

        blueprint.add_url_rule(rule, view.__name__, wrapper, methods=["POST"])
        return wrapper

    return decorator
