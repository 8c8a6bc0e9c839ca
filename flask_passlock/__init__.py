"""Flask-Passlock: passkey (WebAuthn) registration and sign-in for Flask, backed by Passlock."""

from __future__ import annotations

__version__ = "0.1.0"

from .exceptions import (  # noqa: E402
    AlreadyLinked,
    Forbidden,
    InvalidCode,
    LinkError,
    MalformedResponse,
    NotFound,
    PasslockError,
    PassLockUnavailable,
    PasslockUnavailable,
    UnknownUser,
)
from .principal import PasskeyDetails, Principal  # noqa: E402

__all__ = [
    "__version__",
    "Passlock",
    "PasslockClient",
    "Principal",
    "PasskeyDetails",
    "AuthenticatorMixin",
    "PasslockError",
    "InvalidCode",
    "Forbidden",
    "NotFound",
    "PassLockUnavailable",
    "PasslockUnavailable",
    "MalformedResponse",
    "LinkError",
    "AlreadyLinked",
    "UnknownUser",
    "fresh_passkey_required",
    "passkey_required",
    "safe_next",
]

from .client import PasslockClient  # noqa: E402
from .extension import Passlock  # noqa: E402
from .models import AuthenticatorMixin  # noqa: E402
from .redirects import safe_next  # noqa: E402
from .stepup import fresh_passkey_required, passkey_required  # noqa: E402
