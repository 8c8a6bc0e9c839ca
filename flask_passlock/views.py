"""The ``passlock`` blueprint: register, sign in, sign up, re-verify and manage passkeys.

Every route answers JSON when the request has a JSON body or prefers JSON in ``Accept``,
HTML otherwise; errors use one vocabulary: ``{"code": ..., "detail": ...}`` in JSON, the
``passlock/error.html`` page in HTML, with the status of the
:class:`~flask_passlock.exceptions.PasslockError` raised. One error boundary covers every
route: a database error is 503 ``storage_error``, malformed input 400, a malformed or missing
answer from Passlock 502/503; nothing answers 500. Every POST is checked against cross-site
requests (:mod:`flask_passlock.csrf`) before anything else.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, flash, g, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from . import config as cfg
from . import device, mailbox, signals
from ._http import (
    current_path,
    done,
    error_page,
    error_response,
    next_target,
    read_body,
    string_field,
    wants_json,
)
from ._text import clean_label, clean_username
from .csrf import check_same_origin
from .exceptions import (
    AlreadyLinked,
    BadRequest,
    EmailNotVerified,
    IdTokenReplayed,
    InvalidIdToken,
    NoSuchPasskey,
    NotAPasskey,
    NotSignedIn,
    PasslockAPIError,
    PasslockError,
    PasslockUnavailable,
    StorageError,
    UsernameTaken,
    UserNotVerified,
    WrongPasskey,
)
from .messages import browser_messages, message
from .principal import Principal
from .state import get_state
from .store import primary_key

logger = logging.getLogger("flask_passlock")

blueprint = Blueprint(
    "passlock",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _extension() -> Any:
    return get_state().extension


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
        _discard_unread()
    return error_response(StorageError(reason=type(error).__name__))


#: The routes whose ceremony created a new passkey at Passlock before the request came.
_CREATING = ("passlock.register", "passlock.signup")


def _discard_unread() -> None:
    """A register or sign-up failed on the database before its ceremony was read (loading
    the user): read it now, only to delete the new passkey at Passlock (best effort)."""
    if g.get("passlock_principal") is not None:
        return  # read already: link_new_passkey cleaned up
    try:
        data = read_body()
        principal = principal_from(data, request.endpoint.rpartition(".")[2])  # type: ignore[union-attr]
    except PasslockError:
        return
    discard(principal)


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
    app = _app()
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
    return _extension().browser_config()  # type: ignore[no-any-return]


@blueprint.app_template_global("passlock_passkey_ids")
def passkey_ids() -> list[str]:
    """The signed-in user's passkey ids ([] when nobody is signed in): ``exclude`` of the
    register macros, so a device cannot create a second passkey for one account."""
    try:
        user = _extension().get_current_user()
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


# -- shared steps -----------------------------------------------------------------------------

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


def principal_from(data: dict[str, Any], action: str, *, user_id: str | None = None) -> Principal:
    """The principal a request carries: its ``id_token`` verified locally (no call to
    Passlock) when ``PASSLOCK_VERIFY_ID_TOKEN`` is on, else its ``code`` exchanged with
    Passlock (assigning ``user_id`` to the passkey there, when given). Sends
    ``exchange_failed`` when neither is accepted."""
    state = get_state()
    token = string_field(data, "id_token", required=False)
    code = string_field(data, "code", required=False)
    try:
        principal = None
        if state.verifier is not None and token:
            try:
                principal = state.verifier.verify(token)
            except PasslockUnavailable:
                if not code:
                    raise  # the key set cannot be had: exchange the code instead, if any
        if principal is None:
            if not code:
                raise BadRequest(reason="no code" if token is None else "no code (id_token off)")
            principal = state.client.exchange_code(code, user_id=user_id)
    except (PasslockAPIError, InvalidIdToken) as error:
        logger.warning("Passkey ceremony refused (%s): %s", error.code, error.reason)
        signals.exchange_failed.send(_app(), error=error, action=action)
        raise
    g.passlock_principal = principal
    return principal


def use_once(principal: Principal) -> None:
    """One ceremony opens at most one session, whichever of its code and id_token comes."""
    leeway = float(current_app.config[cfg.ID_TOKEN_LEEWAY])
    get_state().require_store().use_once(principal, keep_for=leeway)


def discard(principal: Principal) -> dict[str, Any] | None:
    """Best effort, after a registration or sign-up failed here: delete the new passkey at
    Passlock (and tell the device to forget it), so nothing is left that the user cannot
    retry from. A passkey linked to anyone here is never touched."""
    state = get_state()
    store = state.require_store()
    try:
        if store.find_authenticator(principal.authenticator_id) is not None:
            return None
    except SQLAlchemyError:
        store.rollback()
        if not _made_in(principal):  # the database is down: only this ceremony's own passkey
            return None
    try:
        record = state.client.delete_passkey(principal.authenticator_id)
    except PasslockError as error:
        logger.info("Could not delete an unused passkey at Passlock (%s)", error.code)
        return None
    device.queue_forget([record])
    return record


def _made_in(principal: Principal) -> bool:
    try:
        created = get_state().client.get_passkey(principal.authenticator_id).get("createdAt")
    except PasslockError:
        return False
    born = principal.created_at.timestamp()
    return isinstance(created, (int, float)) and abs(created / 1000 - born) < 600


def _as_dict(authenticator: Any, principal: Principal) -> dict[str, Any]:
    to_dict = getattr(authenticator, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    return {"id": principal.authenticator_id}


def link_new_passkey(user: Any, principal: Principal, new_user: str | None = None) -> Any:
    """Use the ceremony, create the user (sign-up: ``new_user`` is the username), link the
    passkey and commit; on failure roll back, delete the unused passkey at Passlock and send
    ``link_failed``. Returns ``(user, authenticator, its JSON)``."""
    extension, store = _extension(), get_state().require_store()
    try:
        with store.transaction():
            use_once(principal)
            if new_user is not None:
                user = _create_user(new_user, principal)
            authenticator = extension.link(user, principal)
            as_dict = _as_dict(authenticator, principal)
    except (PasslockError, SQLAlchemyError) as error:
        logger.info("Passkey not linked (%s)", getattr(error, "code", type(error).__name__))
        if not isinstance(error, (AlreadyLinked, IdTokenReplayed)):
            discard(principal)
        signals.link_failed.send(_app(), user=user, principal=principal, error=error)
        raise
    return user, authenticator, as_dict


def _create_user(username: str, principal: Principal) -> Any:
    extension = _extension()
    if extension.find_user_by_username(username) is not None:
        raise UsernameTaken()
    try:
        return extension.new_user(username, principal)
    except IntegrityError:
        get_state().require_store().rollback()
        if extension.find_user_by_username(username) is not None:
            raise UsernameTaken() from None  # taken by a concurrent sign-up
        raise


def _optional_label(data: dict[str, Any]) -> str | None:
    value = data.get("label")
    return clean_label(value) if value not in (None, "") else None


# -- register a passkey for the signed-in user --------------------------------------------------


@blueprint.get("/register")
def register_page() -> ResponseReturnValue:
    """The page with the register-a-passkey form."""
    user = require_user()
    exclude = get_state().require_store().passkey_ids_for(user)
    return render_template(
        "passlock/register.html", username=username_for(user), exclude=exclude, next=next_target()
    )


@action("/register", signed_in=True, limit="ceremony")
def register(data: dict[str, Any], user: Any) -> ResponseReturnValue:
    """Take ``code`` or ``id_token`` (and an optional ``label``): link the passkey to the
    signed-in user."""
    g.passlock_label = _optional_label(data)
    principal = principal_from(data, "register", user_id=str(primary_key(user)))
    user, authenticator, as_dict = link_new_passkey(user, principal)
    signals.passkey_registered.send(
        _app(), user=user, principal=principal, authenticator=authenticator
    )
    flash(message("flash.registered", label=as_dict.get("label") or ""), "success")
    target = next_target(data) or current_app.config.get(cfg.REGISTER_REDIRECT)
    return done(str(target or url_for("passlock.list_passkeys")), 201, authenticator=as_dict)


# -- sign in ------------------------------------------------------------------------------------


@blueprint.get("/login")
def login_page() -> ResponseReturnValue:
    """The sign-in page: a passkey button, sign-in by username, and autofill."""
    return render_template("passlock/login.html", next=next_target())


@action("/login/options", limit="options")
def login_options(data: dict[str, Any], user: Any) -> ResponseReturnValue:
    """``username`` -> ``{"allowCredentials": [passkey ids]}`` for sign-in by username
    (an empty list for unknown usernames: the browser then offers every passkey)."""
    username = clean_username(string_field(data, "username"), max_length=256)
    found = _extension().find_user_by_username(username)
    store = get_state().require_store()
    return jsonify(allowCredentials=store.passkey_ids_for(found) if found is not None else [])


@action("/login", limit="ceremony")
def login(data: dict[str, Any], user: Any) -> ResponseReturnValue:
    """Take ``code`` or ``id_token`` (and the ``username`` typed, if any): find the passkey's
    user, log them in, redirect to a safe ``next``."""
    typed = data.get("username")
    username = clean_username(typed, max_length=256) if typed not in (None, "") else None
    principal = principal_from(data, "login")
    extension = _extension()
    try:
        with get_state().require_store().transaction():
            use_once(principal)
            user, authenticator = extension.authenticate(principal, username)
            as_dict = _as_dict(authenticator, principal)
    except PasslockError as error:
        logger.info("Passkey sign-in refused (%s)", error.code)
        signals.login_failed.send(_app(), principal=principal, error=error)
        raise
    extension.log_in(user)  # after the commit: touches no database
    signals.passkey_authenticated.send(
        _app(), user=user, principal=principal, authenticator=authenticator
    )
    flash(message("flash.signed_in"), "success")
    target = next_target(data) or str(current_app.config[cfg.LOGIN_REDIRECT])
    return done(target, 200, authenticator=as_dict)


# -- passkey-first sign-up ----------------------------------------------------------------------


@blueprint.get("/signup")
def signup_page() -> ResponseReturnValue:
    """The sign-up page: pick a username, create a passkey, get an account (after confirming
    an email address with a code, under ``PASSLOCK_SIGNUP_VERIFY_EMAIL``)."""
    confirmed = None
    if current_app.config[cfg.SIGNUP_VERIFY_EMAIL]:
        confirmed = mailbox.confirmed_signup()
        if confirmed is None:
            return render_template("passlock/signup_email.html", next=next_target())
    return render_template("passlock/signup.html", next=next_target(), confirmed=confirmed)


@action("/signup", limit="ceremony")
def signup(data: dict[str, Any], user: Any) -> ResponseReturnValue:
    """Take ``username`` and ``code`` or ``id_token``: create the account, link the passkey,
    log in. A failure creates nothing and deletes the new passkey at Passlock.

    With a ``username`` alone, only say whether it can be had (``{"username": normalised}``,
    or 400 / 409): the page asks before the browser makes a passkey for it."""
    username = clean_username(data.get("username"))
    if not data.get("code") and not data.get("id_token"):
        mailbox.signup_email()  # no confirmed address: refused before a passkey is made
        with get_state().require_store().errors():
            if _extension().find_user_by_username(username) is not None:
                raise UsernameTaken()
        return jsonify(username=username)
    try:
        g.passlock_signup_email = mailbox.signup_email()
    except EmailNotVerified:
        _discard_unread()
        raise
    g.passlock_label = _optional_label(data)
    g.passlock_signing_up = True
    principal = principal_from(data, "signup")
    user, authenticator, as_dict = link_new_passkey(None, principal, new_user=username)
    _extension().log_in(user)  # after the commit: touches no database
    mailbox.forget_signup()
    app = _app()
    signals.user_signed_up.send(app, user=user, principal=principal, authenticator=authenticator)
    signals.passkey_registered.send(
        app, user=user, principal=principal, authenticator=authenticator
    )
    flash(message("flash.signed_up", username=username), "success")
    target = next_target(data) or str(current_app.config[cfg.LOGIN_REDIRECT])
    return done(target, 201, authenticator=as_dict)


# -- step-up re-verification --------------------------------------------------------------------


@blueprint.get("/verify")
def verify_page() -> ResponseReturnValue:
    """Confirm it's you: a passkey ceremony limited to the user's own passkeys (or, for a
    user with none, a way to create one and come back)."""
    user = require_user()
    allow = get_state().require_store().passkey_ids_for(user)
    target = next_target()
    register_url = url_for("passlock.register_page", next=target or current_path())
    return render_template(
        "passlock/verify.html", allow=allow, next=target, register_url=register_url
    )


@action("/verify", signed_in=True, limit="ceremony")
def verify(data: dict[str, Any], user: Any) -> ResponseReturnValue:
    """Take ``code`` or ``id_token`` of the user's own passkey, with user verification:
    mark the session fresh."""
    principal = principal_from(data, "verify")
    if principal.authenticator_type != "passkey":
        raise NotAPasskey()
    if not principal.user_verified:
        raise UserNotVerified(reason="step-up needs user verification")
    store = get_state().require_store()
    with store.transaction():
        use_once(principal)
        authenticator = store.owned_authenticator(user, principal.authenticator_id)
        if authenticator is None:
            raise WrongPasskey()
        store.touch(authenticator)
    _extension().mark_verified(user)
    signals.passkey_verified.send(_app(), user=user, authenticator=authenticator)
    flash(message("flash.verified"), "success")
    target = next_target(data) or str(current_app.config[cfg.LOGIN_REDIRECT])
    return done(target, 200)


# -- manage the signed-in user's passkeys -------------------------------------------------------


@blueprint.get("/")
def list_passkeys() -> ResponseReturnValue:
    """The signed-in user's passkeys: an HTML page, or a JSON array."""
    user = require_user()
    passkeys = get_state().require_store().authenticators_for(user)
    if wants_json():
        return jsonify([p.to_dict() for p in passkeys])
    can_delete_last = _extension().can_delete_last(user)
    return render_template("passlock/list.html", passkeys=passkeys, can_delete_last=can_delete_last)


@action("/<authenticator_id>/rename", signed_in=True)
def rename(data: dict[str, Any], user: Any, authenticator_id: str) -> ResponseReturnValue:
    """``label`` -> the passkey's new name."""
    label = clean_label(data.get("label"))
    store = get_state().require_store()
    with store.transaction():
        authenticator = store.owned_authenticator(user, authenticator_id)
        if authenticator is None:
            raise NoSuchPasskey()
        store.rename(authenticator, label)
        as_dict = authenticator.to_dict()
    signals.passkey_renamed.send(_app(), user=user, authenticator=authenticator, label=label)
    flash(message("flash.renamed", label=label), "success")
    if wants_json():
        return jsonify(authenticator=as_dict)
    return done(url_for("passlock.list_passkeys"))


@action("/<authenticator_id>/delete", signed_in=True)
def delete(data: dict[str, Any], user: Any, authenticator_id: str) -> ResponseReturnValue:
    """Delete the passkey at Passlock and here (kept here when Passlock is down)."""
    store = get_state().require_store()
    with store.transaction():
        authenticator = store.owned_authenticator(user, authenticator_id)
        if authenticator is None:
            raise NoSuchPasskey()
        record = _extension().remove(user, authenticator)
    signals.passkey_removed.send(
        _app(), user=user, authenticator_id=authenticator_id, record=record
    )
    flash(message("flash.deleted"), "success")
    if wants_json():
        # What the browser needs to tell the device to forget it (WebAuthn Signal API).
        return jsonify(deleted=authenticator_id, credential=device.credential_of(record))
    device.queue_forget([record] if record else [])
    return done(url_for("passlock.list_passkeys"))


# The routes of account recovery and of sign-up's email check (mailbox challenges).
from . import recovery  # noqa: E402, F401
