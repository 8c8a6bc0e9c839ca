"""The routes of the ``passlock`` blueprint: register, sign in, sign up, re-verify and manage
passkeys, one section per flow. The blueprint, its error boundary and the preamble of every
POST route (cross-site check, rate limit, user, body) are in :mod:`flask_passlock.blueprint`;
the steps every ceremony goes through in :mod:`flask_passlock.ceremony`.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify, render_template, url_for
from flask.typing import ResponseReturnValue

from . import config as cfg
from . import device, mailbox, signals
from ._http import current_path, done, next_target, notify, string_field, wants_json
from ._text import clean_label, clean_username
from .blueprint import action, blueprint, logger, require_user
from .ceremony import (
    discard_unread,
    json_of,
    link_new_passkey,
    optional_label,
    principal_from,
    sender,
    use_once,
    username_for,
    username_free,
)
from .exceptions import (
    EmailNotVerified,
    NoSuchPasskey,
    NotAPasskey,
    PasslockError,
    UserNotVerified,
    WrongPasskey,
)
from .messages import message
from .state import get_state
from .store import primary_key


def _extension() -> Any:
    return get_state().extension


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
    g.passlock_label = optional_label(data)
    principal = principal_from(data, "register", user_id=str(primary_key(user)))
    user, authenticator, as_dict = link_new_passkey(user, principal)
    signals.passkey_registered.send(
        sender(), user=user, principal=principal, authenticator=authenticator
    )
    notify(message("flash.registered", label=as_dict.get("label") or ""), "success")
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
            user, authenticator = extension.authenticate(principal, username)
            as_dict = json_of(authenticator, principal)
            use_once(principal)
    except PasslockError as error:
        logger.info("Passkey sign-in refused (%s)", error.code)
        signals.login_failed.send(sender(), principal=principal, error=error)
        raise
    extension.log_in(user)  # after the commit: touches no database
    signals.passkey_authenticated.send(
        sender(), user=user, principal=principal, authenticator=authenticator
    )
    notify(message("flash.signed_in"), "success")
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
            username_free(username)
        return jsonify(username=username)
    try:
        g.passlock_signup_email = mailbox.signup_email()
    except EmailNotVerified:
        discard_unread()
        raise
    g.passlock_label = optional_label(data)
    g.passlock_signing_up = True
    principal = principal_from(data, "signup")
    user, authenticator, as_dict = link_new_passkey(None, principal, new_user=username)
    _extension().log_in(user)  # after the commit: touches no database
    mailbox.forget_signup()
    app = sender()
    signals.user_signed_up.send(app, user=user, principal=principal, authenticator=authenticator)
    signals.passkey_registered.send(
        app, user=user, principal=principal, authenticator=authenticator
    )
    notify(message("flash.signed_up", username=username), "success")
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
        authenticator = store.owned_authenticator(user, principal.authenticator_id)
        if authenticator is None:
            raise WrongPasskey()
        store.touch(authenticator)
        use_once(principal)
    _extension().mark_verified(user)
    signals.passkey_verified.send(sender(), user=user, authenticator=authenticator)
    notify(message("flash.verified"), "success")
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


def _own_passkey(store: Any, user: Any, authenticator_id: str) -> Any:
    """The signed-in user's passkey ``authenticator_id``; :class:`NoSuchPasskey` when it is
    not theirs (or does not exist)."""
    authenticator = store.owned_authenticator(user, authenticator_id)
    if authenticator is None:
        raise NoSuchPasskey()
    return authenticator


@action("/<authenticator_id>/rename", signed_in=True)
def rename(data: dict[str, Any], user: Any, authenticator_id: str) -> ResponseReturnValue:
    """``label`` -> the passkey's new name."""
    label = clean_label(data.get("label"))
    store = get_state().require_store()
    with store.transaction():
        authenticator = _own_passkey(store, user, authenticator_id)
        store.rename(authenticator, label)
        as_dict = authenticator.to_dict()
    signals.passkey_renamed.send(sender(), user=user, authenticator=authenticator, label=label)
    notify(message("flash.renamed", label=label), "success")
    if wants_json():
        return jsonify(authenticator=as_dict)
    return done(url_for("passlock.list_passkeys"))


@action("/<authenticator_id>/delete", signed_in=True)
def delete(data: dict[str, Any], user: Any, authenticator_id: str) -> ResponseReturnValue:
    """Delete the passkey at Passlock and here (kept here when Passlock is down)."""
    store = get_state().require_store()
    with store.transaction():
        authenticator = _own_passkey(store, user, authenticator_id)
        record = _extension().remove(user, authenticator)
    signals.passkey_removed.send(
        sender(), user=user, authenticator_id=authenticator_id, record=record
    )
    notify(message("flash.deleted"), "success")
    if wants_json():
        # What the browser needs to tell the device to forget it (WebAuthn Signal API).
        return jsonify(deleted=authenticator_id, credential=device.credential_of(record))
    device.queue_forget([record] if record else [])
    return done(url_for("passlock.list_passkeys"))


# The routes of account recovery and of sign-up's email check (mailbox challenges).
from . import recovery  # noqa: E402, F401
