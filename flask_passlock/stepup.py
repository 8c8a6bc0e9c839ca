"""View decorators that ask for a (recent) passkey verification: step-up authentication.

::

    @app.post("/account/delete")
    @fresh_passkey_required(max_age=300)
    def delete_account(): ...

A user whose last passkey verification in this login session is older than ``max_age``
seconds is sent through ``/passkey/verify`` (a passkey ceremony with one of their own
passkeys, user verification required) and back. JSON requests get
``401 {"code": "reauthentication_required", "verify_url": ...}`` instead. The verification time
lives in Flask's signed session, so it holds across workers; a new login or a logout forgets
it, and a sign-in by account recovery never counts. If the database fails while the user is
loaded, the answer is 503 ``storage_error``, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast, overload

from flask import current_app, jsonify, redirect, url_for
from sqlalchemy.exc import SQLAlchemyError

from . import config as cfg
from ._http import current_path, error_response, login_url, wants_json
from .exceptions import NotSignedIn, PasslockError, ReauthenticationRequired, StorageError
from .state import get_state

F = TypeVar("F", bound=Callable[..., Any])

_UNSET: Any = object()


def _require(max_age: float | None) -> Any:
    state = get_state()
    try:
        user = state.extension.get_current_user()
    except SQLAlchemyError as failure:
        if state.store is not None:
            state.store.rollback()
        return error_response(StorageError(reason=type(failure).__name__))
    error: PasslockError
    if user is None:
        error = NotSignedIn()
        target = login_url() or url_for("passlock.login_page", next=current_path())
    else:
        age = state.extension.verified_age(user)
        if age is not None and (max_age is None or age <= max_age):
            return None
        error = ReauthenticationRequired()
        target = url_for("passlock.verify_page", next=current_path())
    if wants_json():
        response = jsonify(code=error.code, detail=error.detail, verify_url=target)
        response.status_code = error.status_code
        return response
    return redirect(target)


@overload
def fresh_passkey_required(view: F) -> F: ...
@overload
def fresh_passkey_required(*, max_age: float | None = ...) -> Callable[[F], F]: ...


def fresh_passkey_required(view: Any = None, *, max_age: Any = _UNSET) -> Any:
    """Require a passkey verification at most ``max_age`` seconds old (default:
    ``PASSLOCK_FRESH_MAX_AGE``). Use bare or with arguments."""

    def decorator(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            limit = max_age
            if limit is _UNSET:
                limit = float(current_app.config[cfg.FRESH_MAX_AGE])
            refused = _require(limit)
            return refused if refused is not None else func(*args, **kwargs)

        return cast(F, wrapper)

    return decorator(view) if view is not None else decorator


def passkey_required(view: F) -> F:
    """Require that the user verified with a passkey in this login session (at any time)."""
    return fresh_passkey_required(max_age=None)(view)
