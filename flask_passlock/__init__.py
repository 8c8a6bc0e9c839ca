"""Flask-Passlock: passkey (WebAuthn) registration and sign-in for Flask, backed by Passlock."""

from __future__ import annotations

import warnings
from typing import Any

__version__ = "0.2.0.dev0"

from .challenge import Challenge  # noqa: E402
from .client import PasslockClient  # noqa: E402
from .exceptions import (  # noqa: E402
    AlreadyLinked,
    ChallengeAttemptsExceeded,
    ChallengeError,
    ChallengeExpired,
    ChallengeRateLimited,
    Forbidden,
    InvalidChallenge,
    InvalidChallengeCode,
    InvalidCode,
    LinkError,
    MalformedResponse,
    NotFound,
    PasslockAPIError,
    PasslockError,
    PasslockUnavailable,
    UnknownUser,
)
from .extension import Passlock  # noqa: E402
from .models import AuthenticatorMixin  # noqa: E402
from .principal import PasskeyDetails, Principal  # noqa: E402
from .redirects import safe_next  # noqa: E402
from .state import PasslockState, get_state  # noqa: E402
from .stepup import fresh_passkey_required, passkey_required  # noqa: E402
from .store import SQLAlchemyStore  # noqa: E402

__all__ = [
    "__version__",
    "Passlock",
    "PasslockState",
    "get_state",
    "PasslockClient",
    "SQLAlchemyStore",
    "Principal",
    "PasskeyDetails",
    "Challenge",
    "AuthenticatorMixin",
    "PasslockError",
    "PasslockAPIError",
    "InvalidCode",
    "Forbidden",
    "NotFound",
    "PasslockUnavailable",
    "MalformedResponse",
    "ChallengeError",
    "ChallengeRateLimited",
    "InvalidChallenge",
    "InvalidChallengeCode",
    "ChallengeExpired",
    "ChallengeAttemptsExceeded",
    "LinkError",
    "AlreadyLinked",
    "UnknownUser",
    "fresh_passkey_required",
    "passkey_required",
    "safe_next",
]


def __getattr__(name: str) -> Any:
    if name == "PassLockUnavailable":
        warnings.warn(
            "'PassLockUnavailable' is deprecated and will be removed in 0.3; use "
            "'PasslockUnavailable'.",
            DeprecationWarning,
            stacklevel=2,
        )
        return PasslockUnavailable
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
