"""When the signed-in user last proved it's them with a passkey (step-up freshness).

Kept in Flask's signed session, so it holds across workers and machines, and tied to the login
session it was made in: a new login (any way: passkey, password...) and a logout forget it, so
signing in again another way never inherits a passkey check. A sign-in by account recovery is
recorded as such and never counts as a passkey check.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from flask import current_app, session

from .store import primary_key

#: Session key of the last check: ``{"at": epoch s, "user": id, "login": nonce, "how": ...}``.
VERIFIED = "_passlock_verified"
#: Session key of the current login session's nonce.
LOGIN = "_passlock_login"


def now() -> float:
    """The time of day, in seconds (a test may replace it to let time pass)."""
    return time.time()


def user_key(user: Any) -> str:
    get_id = getattr(user, "get_id", None)
    if callable(get_id):
        return str(get_id())
    return str(primary_key(user))


def start_login() -> None:
    """A new login session began: forget any earlier check."""
    session[LOGIN] = secrets.token_urlsafe(12)
    session.pop(VERIFIED, None)


def forget() -> None:
    """The user logged out: forget the check and the login session."""
    session.pop(VERIFIED, None)
    session.pop(LOGIN, None)


def mark_verified(user: Any, how: str = "passkey") -> None:
    """Record that ``user`` just proved it's them (``how``: ``"passkey"`` or
    ``"recovery"``)."""
    if LOGIN not in session:
        session[LOGIN] = secrets.token_urlsafe(12)
    session[VERIFIED] = {
        "at": int(now()),
        "user": user_key(user),
        "login": session[LOGIN],
        "how": how,
    }


def verified_how(user: Any) -> str | None:
    """How ``user`` proved it's them in this login session, or ``None``."""
    record = _record(user)
    return str(record["how"]) if record else None


def verified_age(user: Any) -> float | None:
    """Seconds since ``user`` last verified with a passkey in this login session, or
    ``None`` (never, or only by recovery)."""
    record = _record(user)
    if record is None or record.get("how") != "passkey":
        return None
    return max(0.0, now() - float(record["at"]))


def _record(user: Any) -> dict[str, Any] | None:
    record = session.get(VERIFIED)
    if (
        not isinstance(record, dict)
        or not isinstance(record.get("at"), int)
        or record.get("user") != user_key(user)
        or record.get("login") != session.get(LOGIN)
    ):
        return None
    return record


def _on_login(sender: Any, **extra: Any) -> None:
    if "passlock" in current_app.extensions:
        start_login()


def _on_logout(sender: Any, **extra: Any) -> None:
    if "passlock" in current_app.extensions:
        forget()


def connect_flask_login() -> None:
    """Follow Flask-Login's logins and logouts (when Flask-Login is installed)."""
    try:
        from flask_login import user_logged_in, user_logged_out
    except ImportError:
        return
    user_logged_in.connect(_on_login)
    user_logged_out.connect(_on_logout)
