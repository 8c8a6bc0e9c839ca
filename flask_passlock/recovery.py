"""Account recovery and sign-up's email check: the ``passlock`` blueprint's routes that email
a one-time code (a Passlock mailbox challenge) and check it.

``GET/POST /passkey/recover`` and ``GET/POST /passkey/recover/verify`` (``PASSLOCK_RECOVERY``):
a person who lost their passkeys types the email address of their account, gets a code,
types it, and is signed in *for recovery only*: they are sent on to create a new passkey
(and, on the passkey list, to delete the lost one); :func:`~flask_passlock.freshness.verified_how`
says ``"recovery"`` and step-up never counts it as a passkey check.

``POST /passkey/signup/email`` and ``GET/POST /passkey/signup/email/verify``
(``PASSLOCK_SIGNUP_VERIFY_EMAIL``): passkey-first sign-up confirms the address first.

No enumeration: ``POST /passkey/recover`` does the same work for every well-formed address, and
answers the same: it looks the account up, creates a challenge at Passlock (bound to the
account when there is one) and emails the code, to an address with no account too. Only
whoever reads that mailbox and types the code learns that no account has it. Rate limits
(``PASSLOCK_RATE_LIMITS`` group ``"recover"``, and Passlock's per-address limit), the attempt
cap and the short life of a code bound guessing. Where each piece of state lives:
:mod:`flask_passlock.mailbox`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, jsonify, render_template, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound

from . import config as cfg
from . import freshness, mailbox, signals
from ._http import done, next_target, notify, retry_after_headers, wants_json
from ._text import clean_username
from .blueprint import action, blueprint, logger
from .ceremony import sender, username_free
from .challenge import Challenge
from .exceptions import (
    EmailInUse,
    IdTokenReplayed,
    InvalidChallenge,
    NoAccount,
    PasslockError,
    UserDisabled,
)
from .messages import message
from .state import get_state

__all__ = ["blueprint"]


def _on(key: str) -> None:
    """These routes exist only where their feature is on."""
    if not current_app.config[key]:
        raise NotFound()


def _extension() -> Any:
    return get_state().extension


def _refused(template: str, error: PasslockError, **context: Any) -> ResponseReturnValue:
    """A refusal on the page it happened on (the form again, with the sentence and the next
    step), or ``{"code", "detail"}`` JSON."""
    logger.info("Email code step refused (%s): %s", error.code, error.reason)
    headers = retry_after_headers(error)
    if wants_json():
        return jsonify(error.answer()), error.status_code, headers
    page = render_template(template, error=error, **context)
    return page, error.status_code, headers


def _typed(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return value.strip()[:254] if isinstance(value, str) else ""


# -- recovery -----------------------------------------------------------------------------------


@blueprint.get("/recover")
def recover_page() -> ResponseReturnValue:
    """Lost your device? The page asking for the account's email address."""
    _on(cfg.RECOVERY)
    return render_template("passlock/recover.html", email="")


@action("/recover", limit="recover")
def recover(data: dict[str, Any], user: Any) -> ResponseReturnValue:
    """Take ``email``: email a one-time code to the account with this address, then go to
    ``/passkey/recover/verify``. The same work and answer for every well-formed address."""
    _on(cfg.RECOVERY)
    typed = _typed(data, "email")
    try:
        email = mailbox.clean_email(data.get("email"))
        with get_state().require_store().errors():
            account = _extension().find_user_by_email(email)
        address, user_id = email, None
        if account is not None:
            stored = getattr(account, "email", None)
            if isinstance(stored, str) and stored.casefold() == email.casefold():
                address = stored  # the code goes to the address on the account
            user_id = freshness.user_key(account)
        mailbox.send_code("recover", email, to=address, user_id=user_id)
    except PasslockError as error:
        return _refused("passlock/recover.html", error, email=typed)
    signals.recovery_requested.send(sender(), email=email, user=account)
    return done(url_for("passlock.recover_verify_page"))


@blueprint.get("/recover/verify")
def recover_verify_page() -> ResponseReturnValue:
    """The page asking for the code (or, with none waiting, a way to ask for one)."""
    _on(cfg.RECOVERY)
    return render_template("passlock/recover_verify.html", **_code_context("recover"))


@action("/recover/verify", limit="recover")
def recover_verify(data: dict[str, Any], user: Any) -> ResponseReturnValue:
    """Take ``code``: sign the account in for recovery, and go on to create a new passkey."""
    _on(cfg.RECOVERY)
    context = _code_context("recover")
    try:
        challenge, _ = mailbox.check_code("recover", data.get("code"))
        account = _recovered(challenge)
    except PasslockError as error:
        context["waiting"] = mailbox.pending("recover") is not None
        return _refused("passlock/recover_verify.html", error, **context)
    _extension().log_in(account, how="recovery")  # after the commit: touches no database
    signals.account_recovered.send(sender(), user=account, challenge=challenge)
    notify(message("flash.recovered"), "info")
    list_url = url_for("passlock.list_passkeys")
    return done(url_for("passlock.register_page", next=list_url))


def _recovered(challenge: Challenge) -> Any:
    """The account a verified recovery challenge was for (its ``userId`` at Passlock), found
    again by the challenge's address: it must still be that account. The challenge is recorded
    as used, once."""
    store = get_state().require_store()
    leeway = timedelta(seconds=float(current_app.config[cfg.ID_TOKEN_LEEWAY]))
    with store.transaction():
        try:
            store.use_key(f"challenge:{challenge.challenge_id}", challenge.expires_at + leeway)
        except IdTokenReplayed:
            raise InvalidChallenge(reason="the code was used by another request") from None
        account = None
        if challenge.user_id is not None:
            account = _extension().find_user_by_email(challenge.email)
        if account is None or freshness.user_key(account) != challenge.user_id:
            raise NoAccount()
        if getattr(account, "is_active", True) is False:
            raise UserDisabled()
    return account


def _code_context(flow: str) -> dict[str, Any]:
    record = mailbox.pending(flow)
    email = record["email"] if record else None
    username = record.get("username") if record else None
    return {"email": email, "username": username, "waiting": record is not None}


# -- sign-up's email check ------------------------------------------------------------------------


@action("/signup/email", limit="recover")
def signup_email(data: dict[str, Any], user: Any) -> ResponseReturnValue:
    """Take ``username`` and ``email``: check the username can be had, email a code to the
    address, then go to ``/passkey/signup/email/verify``."""
    _on(cfg.SIGNUP_VERIFY_EMAIL)
    typed = {"email": _typed(data, "email"), "username": _typed(data, "username")}
    target = next_target(data)
    try:
        username = clean_username(data.get("username"))
        email = mailbox.clean_email(data.get("email"))
        with get_state().require_store().errors():
            username_free(username)
        mailbox.send_code("signup", email, username=username)
    except PasslockError as error:
        return _refused("passlock/signup_email.html", error, next=target, **typed)
    return done(url_for("passlock.signup_email_verify_page", next=target))


@blueprint.get("/signup/email/verify")
def signup_email_verify_page() -> ResponseReturnValue:
    """The page asking for the code that confirms the sign-up address."""
    _on(cfg.SIGNUP_VERIFY_EMAIL)
    context = _code_context("signup")
    return render_template("passlock/signup_email_verify.html", next=next_target(), **context)


@action("/signup/email/verify", limit="recover")
def signup_email_verify(data: dict[str, Any], user: Any) -> ResponseReturnValue:
    """Take ``code``: the address is confirmed; go on to create the passkey and the account
    (``POST /passkey/signup`` then reads it). An address that has an account already is
    refused here, where only the mailbox's owner learns it."""
    _on(cfg.SIGNUP_VERIFY_EMAIL)
    context = _code_context("signup")
    target = next_target(data)
    try:
        challenge, kept = mailbox.check_code("signup", data.get("code"))
        with get_state().require_store().errors():
            if _extension().find_user_by_email(challenge.email) is not None:
                raise EmailInUse()
    except PasslockError as error:
        context["waiting"] = mailbox.pending("signup") is not None
        template = "passlock/signup_email_verify.html"
        return _refused(template, error, next=target, **context)
    mailbox.confirm_signup(challenge.email, str(kept.get("username") or ""))
    notify(message("flash.email_confirmed"), "success")
    return done(url_for("passlock.signup_page", next=target))


# -- after a recovery ---------------------------------------------------------------------------


@signals.passkey_registered.connect
def _after_recovery(sender: Any, user: Any = None, **extra: Any) -> None:
    """The first passkey made after a recovery sign-in: point at the lost one on the list."""
    state = sender.extensions.get("passlock") if hasattr(sender, "extensions") else None
    if state is None or not sender.config.get(cfg.RECOVERY) or user is None:
        return
    if freshness.verified_how(user) == "recovery":
        notify(message("flash.remove_lost"), "info")
