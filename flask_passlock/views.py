"""The ``passlock`` blueprint: register, sign in, sign up, re-verify and manage passkeys.

Every route answers JSON when the request has a JSON body or prefers JSON in ``Accept``,
HTML otherwise; errors use one vocabulary: ``{"code": ..., "detail": ...}`` in JSON, the
``passlock/error.html`` page in HTML, with the status of the
:class:`~flask_passlock.exceptions.PasslockError` raised. Every POST is checked against
cross-site requests (:mod:`flask_passlock.csrf`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BuildError

from . import config as cfg
from . import signals
from ._http import clean_text, read_body, string_field, wants_json
from .client import validate_code
from .csrf import check_same_origin
from .exceptions import (
    BadRequest,
    InvalidUsername,
    LinkError,
    NotSignedIn,
    PasslockAPIError,
    PasslockError,
    StorageError,
    UsernameTaken,
    WrongPasskey,
)
from .extension import _get_state, _primary_key
from .messages import DEFAULT_MESSAGES, browser_messages, message
from .principal import Principal
from .redirects import safe_next

logger = logging.getLogger("flask_passlock")

blueprint = Blueprint(
    "passlock",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

#: Longest username accepted by passkey-first sign-up, and longest passkey label.
MAX_USERNAME = 64
MAX_LABEL = 100


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _extension() -> Any:
    return _get_state().extension


def require_user() -> Any:
    user = _extension().get_current_user()
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


def current_path() -> str:
    """This request's path and query string: the ``next`` to come back to."""
    return request.full_path.rstrip("?")


def login_url() -> str | None:
    """The sign-in page for an anonymous visitor, with ``next`` back here:
    ``PASSLOCK_LOGIN_VIEW``, else Flask-Login's ``login_view``, else the blueprint's page."""
    endpoint = current_app.config.get(cfg.LOGIN_VIEW)
    if endpoint is None:
        manager = getattr(current_app, "login_manager", None)
        endpoint = getattr(manager, "login_view", None) or "passlock.login_page"
    try:
        return url_for(endpoint, next=current_path())
    except BuildError:
        return None


def _next_target(data: dict[str, Any] | None = None) -> str | None:
    candidate = request.args.get("next")
    if candidate is None and data is not None:
        candidate = data.get("next")
    return safe_next(candidate)


def _done(target: str, status: int = 200, **payload: Any) -> ResponseReturnValue:
    if wants_json():
        return jsonify(redirect=target, **payload), status
    return redirect(target, 303)


def user_message(error: PasslockError) -> str:
    """The sentence shown for ``error``: ``PASSLOCK_MESSAGES[code]`` when set (translations),
    unless the error carries its own sentence."""
    messages = current_app.config.get(cfg.MESSAGES) or {}
    if error.detail == error.default_detail and error.code in messages:
        return str(messages[error.code])
    return error.detail


#: The action a blueprint endpoint stands for (the error page's ``title.<action>``).
_ACTIONS = {
    "register_page": "register",
    "login_options": "login",
    "signup_page": "signup",
    "verify_page": "verify",
    "list_passkeys": "list",
}

#: Where "Try again" goes after a failed action, when the request came from no page here.
_RETRY_PAGES = {
    "register": "passlock.register_page",
    "login": "passlock.login_page",
    "signup": "passlock.signup_page",
    "verify": "passlock.verify_page",
    "rename": "passlock.list_passkeys",
    "delete": "passlock.list_passkeys",
}


def _action() -> str:
    endpoint = (request.endpoint or "").rpartition(".")[2]
    return _ACTIONS.get(endpoint, endpoint)


def _back_url(action: str) -> str | None:
    """The page the user was on (a safe Referer), else the page of ``action``."""
    if request.method == "GET":
        return None
    referer = safe_next(request.headers.get("Referer"))
    if referer:
        return referer
    page = _RETRY_PAGES.get(action)
    if page is None:
        return None
    next_target = _next_target()
    return url_for(page, next=next_target) if next_target else url_for(page)


@blueprint.errorhandler(PasslockError)
def handle_passlock_error(error: PasslockError) -> ResponseReturnValue:
    if wants_json():
        return jsonify(code=error.code, detail=user_message(error)), error.status_code
    if isinstance(error, NotSignedIn) and request.method == "GET":
        target = login_url()
        if target:
            return redirect(target)
    action = _action()
    title_key = f"title.{action}" if f"title.{action}" in DEFAULT_MESSAGES else "title.default"
    return (
        render_template(
            "passlock/error.html",
            error=error,
            message=user_message(error),
            title=message(title_key),
            back_url=_back_url(action),
        ),
        error.status_code,
    )


@blueprint.errorhandler(HTTPException)
def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    """Werkzeug's own errors inside the blueprint (413, 400...) in the format asked for."""
    if not wants_json():
        return error
    code = (error.name or "error").lower().replace(" ", "_")
    return jsonify(code=code, detail=error.description), error.code or 500


@blueprint.app_template_global("passlock_browser_config")
def browser_config() -> dict[str, Any]:
    """Jinja global used by ``passlock/macros.html``: the public config for the browser."""
    return _extension().browser_config()  # type: ignore[no-any-return]


@blueprint.app_template_global("passlock_browser_messages")
def passlock_browser_messages() -> dict[str, str]:
    """Jinja global: the ``js.*`` sentences for passlock.js (overrides applied)."""
    return browser_messages()


@blueprint.app_template_global("passlock_message")
def passlock_message(key: str, **fields: Any) -> str:
    """Jinja global: one sentence of the catalogue."""
    return message(key, **fields)


@blueprint.app_template_global("passlock_passkey_ids")
def passlock_passkey_ids() -> list[str]:
    """Jinja global: the signed-in user's passkey ids ([] when anonymous)."""
    try:
        user = _extension().get_current_user()
    except RuntimeError:  # no way to tell who is signed in (pages rendered outside an app)
        return []
    if user is None:
        return []
    return [a.id for a in _extension().authenticators_for(user)]


# -- shared steps -----------------------------------------------------------------------------


def exchange(code: str, action: str) -> Principal:
    """Validate ``code`` and exchange it with Passlock; send ``exchange_failed`` on error."""
    try:
        return _get_state().client.exchange_code(validate_code(code))
    except PasslockAPIError as error:
        logger.warning("Passlock code exchange failed (%s): %s", error.code, error)
        signals.exchange_failed.send(_app(), error=error, action=action)
        raise


def principal_from(data: dict[str, Any], action: str) -> Principal:
    """The principal a request carries: its ``id_token`` verified locally when
    ``PASSLOCK_VERIFY_ID_TOKEN`` is on, otherwise its ``code`` exchanged with Passlock."""
    state = _get_state()
    token = string_field(data, "id_token", required=False)
    if state.verifier is not None and token:
        try:
            principal: Principal = state.verifier.verify(token)
        except PasslockError as error:
            logger.warning("id_token refused (%s): %s", error.code, error)
            signals.exchange_failed.send(_app(), error=error, action=action)
            raise
        state.extension.consume_jti(principal)
        return principal
    return exchange(string_field(data, "code") or "", action)


@contextmanager
def atomic(user: Any = None, principal: Principal | None = None) -> Iterator[None]:
    """Commit what the block wrote, or roll it all back and answer a clear error."""
    from sqlalchemy.exc import SQLAlchemyError

    db = _get_state().db
    session = db.session if db is not None else None
    try:
        yield
        if session is not None:
            session.commit()
    except LinkError as error:
        if session is not None:
            session.rollback()
        logger.info("Passkey link refused (%s)", error.code)
        signals.link_failed.send(_app(), user=user, principal=principal, error=error)
        raise
    except SQLAlchemyError as exc:
        if session is not None:
            session.rollback()
        logger.error("Database error, rolled back: %s", type(exc).__name__)
        storage_error = StorageError(reason=type(exc).__name__)
        if principal is not None:
            signals.link_failed.send(_app(), user=user, principal=principal, error=storage_error)
        raise storage_error from None
    except BaseException:
        if session is not None:
            session.rollback()
        raise


def link_and_commit(
    user: Any, principal: Principal, label: str | None = None
) -> tuple[Any, dict[str, Any]]:
    """Run the ``link_passkey`` hook and commit; roll back and re-raise on any failure.

    Returns the hook's record and its JSON form, taken before the commit expires it (so the
    answer costs no extra query)."""
    with atomic(user, principal):
        authenticator = _extension().link(user, principal)
        if label and hasattr(authenticator, "label"):
            authenticator.label = label
        as_dict = _as_dict(authenticator, principal)
    return authenticator, as_dict


def _as_dict(authenticator: Any, principal: Principal) -> dict[str, Any]:
    to_dict = getattr(authenticator, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    return {"id": principal.authenticator_id}


# -- register a passkey for the signed-in user --------------------------------------------------


@blueprint.get("/register")
def register_page() -> ResponseReturnValue:
    """The page with the register-a-passkey form."""
    user = require_user()
    existing = [a.id for a in _extension().authenticators_for(user)]
    return render_template(
        "passlock/register.html",
        username=username_for(user),
        exclude=existing,
        next=_next_target(),
    )


@blueprint.post("/register")
def register() -> ResponseReturnValue:
    """Take ``code`` (form field or JSON), exchange it and link the passkey to the user."""
    check_same_origin()
    user = require_user()
    data = read_body()
    label = string_field(data, "label", required=False)
    if label:
        label = clean_text(label, field="label", max_length=MAX_LABEL)
    principal = principal_from(data, action="register")
    authenticator, as_dict = link_and_commit(user, principal, label)
    signals.passkey_registered.send(
        _app(), user=user, principal=principal, authenticator=authenticator
    )
    flash(message("flash.registered", label=as_dict.get("label") or ""), "success")
    target = (
        _next_target(data)
        or current_app.config.get(cfg.REGISTER_REDIRECT)
        or url_for("passlock.list_passkeys")
    )
    return _done(str(target), 201, authenticator=as_dict)


# -- sign in ------------------------------------------------------------------------------------


@blueprint.get("/login")
def login_page() -> ResponseReturnValue:
    """The sign-in page: a passkey button, sign-in by username, and autofill."""
    return render_template("passlock/login.html", next=_next_target())


@blueprint.post("/login/options")
def login_options() -> ResponseReturnValue:
    """``username`` -> ``{"allowCredentials": [passkey ids]}`` for sign-in by username
    (an empty list for unknown usernames: the browser then offers every passkey)."""
    check_same_origin()
    data = read_body()
    username = clean_text(string_field(data, "username") or "", field="username", max_length=256)
    user = _extension().find_user_by_username(username)
    ids = [a.id for a in _extension().authenticators_for(user)] if user is not None else []
    return jsonify(allowCredentials=ids)


@blueprint.post("/login")
def login() -> ResponseReturnValue:
    """Take ``code`` (or ``id_token``), find the passkey's user, log them in, redirect to a
    safe ``next``."""
    check_same_origin()
    data = read_body()
    principal = principal_from(data, action="login")
    extension = _extension()
    try:
        with atomic():
            user, authenticator = extension.authenticate(principal)
            as_dict = _as_dict(authenticator, principal)
    except PasslockError as error:
        logger.info("Passkey sign-in refused (%s)", error.code)
        signals.login_failed.send(_app(), principal=principal, error=error)
        raise
    extension.log_in(user)
    signals.passkey_authenticated.send(
        _app(), user=user, principal=principal, authenticator=authenticator
    )
    flash(message("flash.signed_in"), "success")
    target = _next_target(data) or str(current_app.config[cfg.LOGIN_REDIRECT])
    return _done(target, 200, authenticator=as_dict)


# -- passkey-first sign-up ----------------------------------------------------------------------


@blueprint.get("/signup")
def signup_page() -> ResponseReturnValue:
    """The sign-up page: pick a username, create a passkey, get an account."""
    return render_template("passlock/signup.html", next=_next_target())


def _forget_at_passlock(principal: Principal) -> None:
    """Best effort: delete a passkey created for a sign-up that did not happen."""
    extension = _extension()
    if extension.find_authenticator(principal.authenticator_id) is not None:
        return  # linked to someone here: never delete it
    try:
        extension.client.delete_passkey(principal.authenticator_id)
    except PasslockError as error:
        logger.info("Could not delete an unused passkey at Passlock (%s)", error.code)


@blueprint.post("/signup")
def signup() -> ResponseReturnValue:
    """Take ``username`` and ``code``: create the account, link the passkey, log in."""
    from sqlalchemy.exc import IntegrityError

    check_same_origin()
    data = read_body()
    raw_username = data.get("username")
    if not isinstance(raw_username, str):
        raise InvalidUsername()
    try:
        username = clean_text(raw_username, field="username", max_length=MAX_USERNAME)
    except BadRequest:
        raise InvalidUsername() from None
    principal = principal_from(data, action="signup")
    extension = _extension()
    user = None
    try:
        with atomic(None, principal):
            if extension.find_user_by_username(username) is not None:
                raise UsernameTaken()
            try:
                user = extension.new_user(username, principal)
            except IntegrityError:
                raise UsernameTaken() from None
            authenticator = extension.link(user, principal)
            as_dict = _as_dict(authenticator, principal)
    except UsernameTaken:
        _forget_at_passlock(principal)
        raise
    extension.log_in(user)
    app = _app()
    signals.user_signed_up.send(app, user=user, principal=principal, authenticator=authenticator)
    flash(message("flash.signed_up", username=username), "success")
    signals.passkey_registered.send(
        app, user=user, principal=principal, authenticator=authenticator
    )
    target = _next_target(data) or str(current_app.config[cfg.LOGIN_REDIRECT])
    return _done(target, 201, authenticator=as_dict)


# -- step-up re-verification --------------------------------------------------------------------


@blueprint.get("/verify")
def verify_page() -> ResponseReturnValue:
    """Confirm it's you: a passkey ceremony limited to the user's own passkeys."""
    user = require_user()
    allow = [a.id for a in _extension().authenticators_for(user)]
    next_target = _next_target()
    register_url = url_for("passlock.register_page", next=next_target or current_path())
    return render_template(
        "passlock/verify.html", allow=allow, next=next_target, register_url=register_url
    )


@blueprint.post("/verify")
def verify() -> ResponseReturnValue:
    """Take ``code`` (or ``id_token``) of the user's own passkey; mark the session fresh."""
    check_same_origin()
    user = require_user()
    data = read_body()
    principal = principal_from(data, action="verify")
    extension = _extension()
    with atomic():
        authenticator = extension.find_authenticator(principal.authenticator_id)
        if authenticator is None or authenticator.user_id != _primary_key(user):
            raise WrongPasskey()
        extension.authenticate(principal)
    extension.mark_verified(user)
    signals.passkey_verified.send(_app(), user=user, authenticator=authenticator)
    flash(message("flash.verified"), "success")
    target = _next_target(data) or str(current_app.config[cfg.LOGIN_REDIRECT])
    return _done(target, 200)


# -- manage the signed-in user's passkeys -------------------------------------------------------


@blueprint.get("/")
def list_passkeys() -> ResponseReturnValue:
    """The signed-in user's passkeys: an HTML page, or a JSON array."""
    user = require_user()
    passkeys = _extension().authenticators_for(user)
    if wants_json():
        return jsonify([p.to_dict() for p in passkeys])
    hook = _extension()._has_other_sign_in
    can_delete_last = hook is None or bool(hook(user))
    return render_template("passlock/list.html", passkeys=passkeys, can_delete_last=can_delete_last)


@blueprint.post("/<authenticator_id>/rename")
def rename(authenticator_id: str) -> ResponseReturnValue:
    """``label`` -> the passkey's new name."""
    check_same_origin()
    user = require_user()
    data = read_body()
    label = clean_text(string_field(data, "label") or "", field="label", max_length=MAX_LABEL)
    extension = _extension()
    with atomic():
        authenticator = extension.owned_authenticator(user, authenticator_id)
        authenticator.label = label
    signals.passkey_renamed.send(_app(), user=user, authenticator=authenticator, label=label)
    flash(message("flash.renamed", label=label), "success")
    if wants_json():
        return jsonify(authenticator=authenticator.to_dict())
    return redirect(url_for("passlock.list_passkeys"), 303)


@blueprint.post("/<authenticator_id>/delete")
def delete(authenticator_id: str) -> ResponseReturnValue:
    """Delete the passkey at Passlock and here (kept here when Passlock is down)."""
    check_same_origin()
    user = require_user()
    read_body()
    extension = _extension()
    with atomic():
        authenticator = extension.owned_authenticator(user, authenticator_id)
        record = extension.remove(user, authenticator)
    signals.passkey_removed.send(
        _app(), user=user, authenticator_id=authenticator_id, record=record
    )
    flash(message("flash.deleted"), "success")
    if wants_json():
        # What the browser needs to tell the device to forget it (WebAuthn Signal API).
        credential = (record or {}).get("credential")
        forget = None
        if isinstance(credential, dict):
            forget = {
                "credentialId": credential.get("id"),
                "userId": credential.get("userId"),
                "rpId": credential.get("rpId"),
            }
        return jsonify(deleted=authenticator_id, credential=forget)
    return redirect(url_for("passlock.list_passkeys"), 303)
