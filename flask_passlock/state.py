"""The per-app state of Flask-Passlock: what :meth:`Passlock.init_app
<flask_passlock.Passlock.init_app>` keeps in ``app.extensions["passlock"]``.

It is public: an app (or its tests) may reach the REST client or the store of an app with
``get_state(app).client``. This module imports nothing from the rest of the package at run
time, so any module can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from .client import PasslockClient
    from .extension import Passlock
    from .ratelimit import RateLimiter
    from .store import SQLAlchemyStore
    from .tokens import IdTokenVerifier


@dataclass
class PasslockState:
    """Flask-Passlock's objects for one app."""

    #: The :class:`~flask_passlock.Passlock` instance (hooks and flows).
    extension: Passlock
    #: The REST client for this app's tenancy (pooled connections, deadlines).
    client: PasslockClient
    #: Where passkeys and used ceremonies are kept; ``None`` without ``db=``.
    store: SQLAlchemyStore | None
    #: Verifies id_tokens locally; ``None`` when ``PASSLOCK_VERIFY_ID_TOKEN`` is off.
    verifier: IdTokenVerifier | None = None
    #: Applies ``PASSLOCK_RATE_LIMITS``; ``None`` when they are off.
    rate_limiter: RateLimiter | None = None
    #: How this app sends the emails of one-time codes (:mod:`flask_passlock.mail`), when
    #: ``PASSLOCK_RECOVERY`` or ``PASSLOCK_SIGNUP_VERIFY_EMAIL`` is on; else ``None``.
    recovery: Any = None

    def require_store(self) -> SQLAlchemyStore:
        """The store; a clear :class:`RuntimeError` when the app gave no ``db=``."""
        if self.store is None:
            raise RuntimeError(
                "Flask-Passlock has no database: pass db= and user_model= (or "
                "authenticator_model=) to Passlock() or init_app()."
            )
        return self.store


def get_state(app: Flask | None = None) -> PasslockState:
    """The state of ``app`` (default: the current app).

    :raises RuntimeError: Passlock was not set up on the app.
    """
    target = app if app is not None else current_app
    try:
        state = target.extensions["passlock"]
    except KeyError:
        raise RuntimeError(
            "Passlock is not registered on this app; did you forget to call passlock.init_app(app)?"
        ) from None
    return state  # type: ignore[no-any-return]
