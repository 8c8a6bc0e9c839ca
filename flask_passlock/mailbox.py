"""Email one-time codes (Passlock mailbox challenges) for account recovery and for sign-up's
email check: sending a code, keeping its challenge, checking the code a person types.

Where the state lives: a challenge's id and secret never reach the page or a form field. They
stay in Flask's signed session (the browser holds it, HttpOnly, and cannot change it; a
server-side session such as Flask-Session keeps them off the browser too), with the address as
typed, until the code is used, expires or a new one replaces it. Flask's session is signed, not
encrypted, so it holds nothing that tells whether an address has an account: the account a
recovery code is for is bound to the challenge at Passlock (its ``userId``), not kept here.

A code is checked with the secret, so only the browser that asked for it can use it, and at
most once: Passlock consumes a verified challenge, and the app records its id in the one-use
table as well (``"challenge:<id>"``), so that two requests racing with one code sign in once.
Every verified challenge is checked again (purpose, address, account) before it is acted upon,
then deleted at Passlock. Secrets and codes go only into request bodies to Passlock and into
the email; never into a log line, a page, an exception or a signal.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, session

from . import config as cfg
from . import mail
from .challenge import Challenge
from .exceptions import (
    ChallengeError,
    ChallengeExpired,
    CodeNotSent,
    EmailNotSent,
    EmailNotVerified,
    InvalidChallenge,
    InvalidChallengeCode,
    InvalidEmail,
    PasslockError,
)
from .messages import message
from .state import get_state

logger = logging.getLogger("flask_passlock")

F = TypeVar("F", bound=Callable[..., Any])

#: The Passlock ``purpose`` of each flow's challenges (re-checked when a code is verified).
PURPOSES = {"recover": "passlock.recover", "signup": "passlock.signup"}
#: Session keys of each flow's pending challenge.
PENDING = {"recover": "_passlock_recover", "signup": "_passlock_signup"}
#: Session key of sign-up's confirmed address: ``{"email", "username", "at"}``.
CONFIRMED = "_passlock_signup_email"
#: Seconds a confirmed sign-up address stays usable to create the account.
CONFIRMED_MAX_AGE = 1800

#: Longest address accepted (RFC 5321's path limit).
MAX_EMAIL = 254
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_REFUSED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"}
_CODE = re.compile(r"[0-9A-Za-z]{4,16}")


def clean_email(value: object) -> str:
    """An address fit to look up and to send to (stripped; otherwise as typed);
    :class:`InvalidEmail` otherwise (spaces, invisible characters, or bytes that were not
    text, which arrive as U+FFFD). Checked here, before Passlock is called: its server
    library cannot answer a malformed address with an error the client can read."""
    if not isinstance(value, str):
        raise InvalidEmail()
    value = value.strip()
    if (
        not 3 <= len(value) <= MAX_EMAIL
        or any(unicodedata.category(ch) in _REFUSED or ch == "\ufffd" for ch in value)
        or not _EMAIL.fullmatch(value)
    ):
        raise InvalidEmail()
    return value


def clean_code(value: object) -> str:
    """The one-time code typed (spaces and dashes dropped); :class:`InvalidChallengeCode`
    when it cannot be one (refused here: it costs no attempt)."""
    if not isinstance(value, str):
        raise InvalidChallengeCode(reason="no code")
    value = re.sub(r"[\s-]", "", value)
    if not _CODE.fullmatch(value):
        raise InvalidChallengeCode(reason="not shaped like a code")
    return value


# -- sending a code ---------------------------------------------------------------------------


def send_code(
    flow: str, email: str, *, to: str | None = None, user_id: str | None = None, **keep: str
) -> None:
    """Create a challenge (bound to ``user_id`` when given), email its code to ``to`` (default:
    ``email``, the address as typed; the same address but for case), and keep it for this
    browser with ``email`` (and ``keep``: ``username``...).

    :raises ChallengeRateLimited: too many codes for this address lately.
    :raises EmailNotSent: the email could not be sent (the challenge is deleted again).
    """
    state = get_state()
    challenge = state.client.create_challenge(to or email, PURPOSES[flow], user_id=user_id)
    try:
        _deliver(flow, challenge)
    except Exception as error:  # noqa: BLE001 - whatever the mail backend raises
        logger.error("The email with a code was not sent (%s)", type(error).__name__)
        forget_challenge(challenge.challenge_id)
        raise EmailNotSent(reason=type(error).__name__) from None
    session[PENDING[flow]] = {
        "id": challenge.challenge_id,
        "secret": challenge.secret,
        "email": email,
        "exp": int(challenge.expires_at.timestamp()),
        **keep,
    }


def _deliver(flow: str, challenge: Challenge) -> None:
    subject = current_app.config.get(cfg.MAIL_SUBJECT) or message(f"mail.subject.{flow}")
    text = challenge.message_text or message("mail.text", code=challenge.code)
    get_state().extension.send_mail(challenge.email, str(subject), text, challenge.message_html)


def forget_challenge(challenge_id: str) -> None:
    """Delete a challenge at Passlock, best effort."""
    try:
        get_state().client.delete_challenge(challenge_id)
    except PasslockError as error:
        logger.info("A used or unsent challenge was not deleted at Passlock (%s)", error.code)


# -- checking a code --------------------------------------------------------------------------


def pending(flow: str) -> dict[str, Any] | None:
    """This browser's challenge waiting for a code in ``flow``, or ``None``."""
    record = session.get(PENDING[flow])
    if not isinstance(record, dict) or not all(
        isinstance(record.get(k), str) for k in ("id", "secret", "email")
    ):
        return None
    return record


def drop(flow: str) -> None:
    session.pop(PENDING[flow], None)


def check_code(flow: str, code: object) -> tuple[Challenge, dict[str, Any]]:
    """Verify ``code`` against this browser's challenge in ``flow``; returns the verified
    challenge (checked again: its purpose, and the address) and what was kept with it. The
    challenge is used up and deleted at Passlock. Check its ``user_id`` before acting on it.

    :raises CodeNotSent: no code is waiting for this browser.
    :raises InvalidChallengeCode: a wrong code (another try is allowed).
    :raises ChallengeExpired, ChallengeAttemptsExceeded, InvalidChallenge: a new code is
        needed (the waiting one is forgotten).
    """
    record = pending(flow)
    if record is None:
        raise CodeNotSent()
    typed = clean_code(code)
    if isinstance(record.get("exp"), int) and record["exp"] < time.time():
        drop(flow)
        raise ChallengeExpired(reason="expired before it was typed")
    try:
        challenge = get_state().client.verify_challenge(record["id"], record["secret"], typed)
    except InvalidChallengeCode:
        raise
    except ChallengeError:
        drop(flow)
        raise
    drop(flow)
    if (
        challenge.purpose != PURPOSES[flow]
        or challenge.challenge_id != record["id"]
        or challenge.email.casefold() != record["email"].casefold()
    ):
        raise InvalidChallenge(reason="the verified challenge is not the one this browser has")
    forget_challenge(challenge.challenge_id)
    return challenge, record


# -- sign-up's confirmed address --------------------------------------------------------------


def confirm_signup(email: str, username: str) -> None:
    """Remember that this browser proved it reads ``email`` (to sign up as ``username``)."""
    session[CONFIRMED] = {"email": email, "username": username, "at": int(time.time())}


def confirmed_signup() -> dict[str, Any] | None:
    """The address this browser confirmed for sign-up (and the username it chose), while it
    is fresh; else ``None``."""
    record = session.get(CONFIRMED)
    if (
        not isinstance(record, dict)
        or not isinstance(record.get("email"), str)
        or not isinstance(record.get("at"), int)
        or time.time() - record["at"] > CONFIRMED_MAX_AGE
    ):
        return None
    return record


def signup_email() -> str | None:
    """For passkey-first sign-up: ``None`` when ``PASSLOCK_SIGNUP_VERIFY_EMAIL`` is off, else
    the confirmed address. :raises EmailNotVerified: it is on and none is confirmed."""
    if not current_app.config[cfg.SIGNUP_VERIFY_EMAIL]:
        return None
    record = confirmed_signup()
    if record is None:
        raise EmailNotVerified()
    return str(record["email"])


def forget_signup() -> None:
    session.pop(CONFIRMED, None)


# -- the extension's hooks --------------------------------------------------------------------


class MailboxHooks:
    """The hooks and helpers of email codes, mixed into :class:`~flask_passlock.Passlock`."""

    _hooks: dict[str, Callable[..., Any]]

    def send_email(self, callback: F) -> F:
        """Register how an email is sent (decorator): ``callback(to, subject, text, html)``
        sends it or raises (the user is then told it was not sent). ``html`` may be ``None``.

        Default: Flask-Mailman or Flask-Mail when set up on the app, else (emulator only) the
        development outbox. Register it before ``init_app`` (or pass
        ``Passlock(send_email=...)``): ``init_app`` checks that codes can be sent.
        """
        self._hooks["send_email"] = callback
        return callback

    def user_by_email(self, callback: F) -> F:
        """Register how a user is found by email address (decorator); return it or ``None``.

        Used by account recovery and by sign-up's email check. Compare case-insensitively,
        as the default does (``lower(user_model.email)``), and return ``None`` for an
        account that must not be recovered.
        """
        self._hooks["user_by_email"] = callback
        return callback

    def find_user_by_email(self, email: str) -> Any:
        """The user with this email address, or ``None`` (``user_by_email`` hook)."""
        hook = self._hooks.get("user_by_email")
        return hook(email) if hook else get_state().require_store().user_by_email(email)

    @property
    def signup_email(self) -> str | None:
        """In a passkey-first sign-up (``create_user`` hook), the address the user confirmed
        with a code (``PASSLOCK_SIGNUP_VERIFY_EMAIL``); ``None`` otherwise."""
        email = g.get("passlock_signup_email")
        return email if isinstance(email, str) else None

    def send_mail(self, to: str, subject: str, text: str, html: str | None = None) -> None:
        """Send an email the way this app does (``send_email`` hook, mail extension, or the
        emulator's outbox); :class:`~flask_passlock.exceptions.EmailNotSent` when it has
        none."""
        state = get_state()
        hook = self._hooks.get("send_email")
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        mailer = hook or state.recovery or mail.resolve(app, state.client, None)
        if mailer is None:
            raise EmailNotSent(reason="no way to send email")
        mailer(to, subject, text, html)
