"""View decorators that ask for a (recent) passkey verification: step-up authentication.

::

    @app.post("/account/delete")
    @fresh_passkey_required(max_age=300)
    def delete_account(): ...

A user whose last passkey verification in this session is older than ``max_age`` seconds is
sent through ``/passkey/verify`` (a passkey ceremony with one of their own passkeys) and back.
JSON requests get ``401 {"code": "reauthentication_required", "verify_url": ...}`` instead.
The verification time lives in Flask's signed session cookie, so it holds across workers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast, overload

from flask import current_app, jsonify, redirect, url_for

from . import config as cfg
from ._http import wants_json
from .exceptions import NotSignedIn, ReauthenticationRequired
from .extension import _get_state

F = TypeVar("F", bound=Callable[..., Any])

_UNSET: Any = object()


def _require(max_age: float | None) -> Any:
    from .views import current_path, login_url, user_message

    extension = _get_state().extension
    user = extension.get_current_user()
    if user is None:
        error: Any = NotSignedIn()
        target = login_url() or url_for("passlock.login_page", next=current_path())
    else:
        age = extension.verified_age(user)
        if age is not None and (max_age is None or age <= max_age):
            return None
        error = ReauthenticationRequired()
        target = url_for("passlock.verify_page", next=current_path())
    if wants_json():
        response = jsonify(code=error.code, detail=user_message(error), verify_url=target)
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
    """Require that the user verified with a passkey in this session (at any time)."""
    return fresh_passkey_required(max_age=None)(view)
