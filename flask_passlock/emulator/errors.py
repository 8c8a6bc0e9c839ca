"""Passlock's tagged errors: one catalogue, one exception the backend raises for each."""

from __future__ import annotations

from typing import Any

#: Every ``_tag`` the emulator answers with: its HTTP status and default message (Passlock's
#: wording where its tests show one).
ERRORS: dict[str, tuple[int, str]] = {
    "@error/BadRequest": (400, "Bad request"),
    "@error/Forbidden": (403, "Forbidden"),
    "@error/NotFound": (404, "Not found"),
    "@error/MethodNotAllowed": (405, "Method not allowed"),
    "@error/InvalidCode": (404, "Invalid code"),
    "@error/InvalidTenancy": (404, "Unknown tenancy"),
    "@error/PasskeyNotFound": (400, "Passkey not found"),
    "@error/VerificationFailure": (400, "Not verified"),
    "@error/InvalidChallenge": (400, "Invalid challenge"),
    "@error/InvalidChallengeCode": (400, "Invalid challenge code"),
    "@error/ChallengeExpired": (400, "Challenge expired"),
    "@error/ChallengeAttemptsExceeded": (429, "Too many attempts"),
    "@error/ChallengeRateLimited": (429, "Too many challenges requested"),
    "@error/Internal": (500, "Internal error"),
}

#: Fields besides ``_tag`` and ``message`` that @passlock/server's schema requires in an error.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "@error/PasskeyNotFound": ("credentialId", "rpId"),
    "@error/ChallengeRateLimited": ("retryAfterSeconds",),
}


def error_body(tag: str, message: str | None = None, **fields: Any) -> dict[str, Any]:
    """``{"_tag", "message", **fields}``, refusing a body the library could not decode."""
    missing = [name for name in REQUIRED_FIELDS.get(tag, ()) if name not in fields]
    if missing:
        raise ValueError(f"{tag} needs {', '.join(missing)}")
    default = ERRORS.get(tag, (400, tag.rpartition("/")[2]))[1]
    return {"_tag": tag, "message": default if message is None else message, **fields}


def error_status(tag: str) -> int:
    """The HTTP status the emulator answers ``tag`` with (400 for a tag it does not know)."""
    return ERRORS.get(tag, (400, ""))[0]


class ApiError(Exception):
    """A tagged Passlock error; the HTTP layers answer it as JSON with its status."""

    def __init__(
        self, tag: str, message: str | None = None, *, status: int | None = None, **fields: Any
    ) -> None:
        self.body = error_body(tag, message, **fields)
        self.status = error_status(tag) if status is None else status
        super().__init__(self.body["message"])

    @property
    def tag(self) -> str:
        return str(self.body["_tag"])


def bad_request(message: str) -> ApiError:
    return ApiError("@error/BadRequest", message)


def not_found(message: str = "Not found") -> ApiError:
    return ApiError("@error/NotFound", message)


def forbidden() -> ApiError:
    return ApiError("@error/Forbidden")
