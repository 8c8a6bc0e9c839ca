"""The ``passlock`` blueprint: register a passkey and list the signed-in user's passkeys.

Every route answers JSON when the request has a JSON body or prefers JSON in ``Accept``,
HTML otherwise; errors use one vocabulary: ``{"code": ..., "detail": ...}`` in JSON, the
``passlock/error.html`` page in HTML, with the status of the
:class:`~flask_passlock.exceptions.PasslockError` raised.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest as HTTPBadRequest
from werkzeug.routing import BuildError

from . import config as cfg
from . import signals
from .client import validate_code
from .csrf import check_same_origin
from .exceptions import (
    BadRequest,
    LinkError,
    NotSignedIn,
    PasslockAPIError,
    PasslockError,
    StorageError,
)
from .extension import _get_state
from .principal import Principal

logger = logging.getLogger("flask_passlock")

blueprint = Blueprint(
    "passlock",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


# -- request and answer helpers ---------------------------------------------------------------


def wants_json() -> bool:
    """Whether to answer JSON: a JSON body, or ``Accept`` preferring JSON to HTML."""
    if request.is_json:
        return True
    accept = request.accept_mimetypes
    return accept["application/json"] > accept["text/html"]


def read_body() -> dict[str, Any]:
    """The POST body as a dict: a JSON object, or the form fields."""
    if request.is_json:
        try:
            data = request.get_json()
        except HTTPBadRequest:
            raise BadRequest("The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.")
        return data
    return request.form.to_dict()


def string_field(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None or value == "":
        raise BadRequest(f"The '{name}' field is missing.")
    if not isinstance(value, str):
        raise BadRequest(f"The '{name}' field must be a string.")
    return value


def require_user() -> Any:
    user = _get_state().extension.get_current_user()
    if user is None:
        raise NotSignedIn()
    return user


def username_for(user: Any) -> str:
    """A name to give the passkey on the device: the user's username, email or id."""
    for attr in ("username", "email", "name"):
        value = getattr(user, attr, None)
        if isinstance(value, str) and value:
            return value
    get_id = getattr(user, "get_id", None)
    return str(get_id() if callable(get_id) else "")


def _login_url() -> str | None:
    endpoint = current_app.config.get(cfg.LOGIN_VIEW)
    if endpoint is None:
        manager = getattr(current_app, "login_manager", None)
        endpoint = getattr(manager, "login_view", None)
    if not endpoint:
        return None
    try:
        return url_for(endpoint, next=request.full_path.rstrip("?"))
    except BuildError:
        return None


def _as_dict(authenticator: Any, principal: Principal) -> dict[str, Any]:
    to_dict = getattr(authenticator, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    return {"id": principal.authenticator_id}


@blueprint.errorhandler(PasslockError)
def handle_passlock_error(error: PasslockError) -> ResponseReturnValue:
    if wants_json():
        return jsonify(code=error.code, detail=error.detail), error.status_code
    if isinstance(error, NotSignedIn) and request.method == "GET":
        login_url = _login_url()
        if login_url:
            return redirect(login_url)
    return render_template("passlock/error.html", error=error), error.status_code


# -- the passkey lifecycle --------------------------------------------------------------------


def exchange(code: str, action: str) -> Principal:
    """Validate ``code`` and exchange it with Passlock; send ``exchange_failed`` on error."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        return _get_state().client.exchange_code(validate_code(code))
    except PasslockAPIError as error:
        logger.warning("Passlock code exchange failed (%s): %s", error.code, error)
        signals.exchange_failed.send(app, error=error, action=action)
        raise


def link_and_commit(user: Any, principal: Principal) -> Any:
    """Run the ``link_passkey`` hook and commit; roll back and re-raise on any failure."""
    from sqlalchemy.exc import SQLAlchemyError

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = _get_state()
    session = state.db.session if state.db is not None else None
    try:
        authenticator = state.extension.link(user, principal)
        if session is not None:
            session.commit()
    except LinkError as error:
        if session is not None:
            session.rollback()
        logger.info("Passkey link refused (%s)", error.code)
        signals.link_failed.send(app, user=user, principal=principal, error=error)
        raise
    except SQLAlchemyError as exc:
        if session is not None:
            session.rollback()
        logger.error("Saving a passkey failed: %s", type(exc).__name__)
        storage_error = StorageError(reason=type(exc).__name__)
        signals.link_failed.send(app, user=user, principal=principal, error=storage_error)
        raise storage_error from None
    except BaseException:
        if session is not None:
            session.rollback()
        raise
    return authenticator


def _register_redirect() -> str:
    target = current_app.config.get(cfg.REGISTER_REDIRECT)
    return str(target) if target else url_for("passlock.list_passkeys")


# -- routes -----------------------------------------------------------------------------------


@blueprint.get("/register")
def register_page() -> ResponseReturnValue:
    """The page with the register-a-passkey form."""
    user = require_user()
    return render_template("passlock/register.html", username=username_for(user))


@blueprint.post("/register")
def register() -> ResponseReturnValue:
    """Take ``code`` (form field or JSON), exchange it and link the passkey to the user."""
    check_same_origin()
    user = require_user()
    data = read_body()
    code = string_field(data, "code")
    principal = exchange(code, action="register")
    authenticator = link_and_commit(user, principal)
    signals.passkey_registered.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        user=user,
        principal=principal,
        authenticator=authenticator,
    )
    target = _register_redirect()
    if wants_json():
        return jsonify(authenticator=_as_dict(authenticator, principal), redirect=target), 201
    return redirect(target, 303)


@blueprint.get("/")
def list_passkeys() -> ResponseReturnValue:
    """The signed-in user's passkeys: an HTML page, or a JSON array."""
    user = require_user()
    passkeys = _get_state().extension.authenticators_for(user)
    if wants_json():
        return jsonify([p.to_dict() for p in passkeys])
    return render_template("passlock/list.html", passkeys=passkeys)


@blueprint.app_template_global("passlock_browser_config")
def browser_config() -> dict[str, Any]:
    """Jinja global used by ``passlock/macros.html``: the public config for the browser."""
    return _get_state().extension.browser_config()
