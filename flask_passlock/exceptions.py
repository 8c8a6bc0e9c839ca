"""Every error Flask-Passlock raises, with the HTTP status and stable code it answers with.

Each error keeps the sentence for the user (:attr:`PasslockError.detail`, from the catalogue in
:mod:`flask_passlock.messages` unless a hook gave its own) apart from a technical
:attr:`~PasslockError.reason` for logs. Neither ever contains the API key, a code, an id_token,
a challenge secret or a one-time code.
"""

from __future__ import annotations

from typing import Any

from .messages import DEFAULT_MESSAGES, message


class PasslockError(Exception):
    """Base class. ``status_code`` and ``code`` decide the answer the blueprint gives."""

    #: HTTP status the blueprint answers with.
    status_code: int = 500
    #: Stable machine-readable code, used in JSON answers (``{"code", "detail"}``) and as the
    #: key of the sentence in :mod:`flask_passlock.messages`.
    code: str = "passlock_error"

    def __init__(self, detail: str | None = None, *, reason: str | None = None) -> None:
        #: A sentence for the user given when raising (e.g. by a hook), or ``None``.
        self.custom_detail = detail
        #: A technical reason for logs and developers, never shown to the user.
        self.reason = reason
        text = detail or self.default_detail
        super().__init__(f"{text} ({reason})" if reason else text)

    @property
    def default_detail(self) -> str:
        """The catalogue's sentence for :attr:`code` (without the app's overrides)."""
        return DEFAULT_MESSAGES.get(self.code) or DEFAULT_MESSAGES["passlock_error"]

    @property
    def detail(self) -> str:
        """The sentence for the user: the one given when raising, else the catalogue's, with
        the app's ``PASSLOCK_MESSAGES`` applied."""
        return self.custom_detail or message(self.code)

    def answer(self) -> dict[str, Any]:
        """The JSON answer: ``{"code", "detail"}`` plus what :meth:`extra` adds."""
        return {"code": self.code, "detail": self.detail, **self.extra()}

    def extra(self) -> dict[str, Any]:
        """More fields for the JSON answer (none by default)."""
        return {}


# -- answers from (or about) the Passlock service ---------------------------------------------


class PasslockAPIError(PasslockError):
    """Base class of the errors :class:`~flask_passlock.client.PasslockClient` raises."""

    status_code = 502


class InvalidCode(PasslockAPIError):
    """The code is unknown, expired, already used, or not shaped like a code."""

    status_code = 400
    code = "invalid_code"


class Forbidden(PasslockAPIError):
    """Passlock refused the API key or tenancy ID: a server configuration problem."""

    code = "passlock_forbidden"


class NotFound(PasslockAPIError):
    """Passlock knows no such passkey (or challenge)."""

    status_code = 404
    code = "not_found"


class PasslockUnavailable(PasslockAPIError):
    """Passlock could not be reached, missed the deadline, or answered with an error page
    (5xx, HTML, empty body, unknown error tag)."""

    status_code = 503
    code = "passlock_unavailable"


class MalformedResponse(PasslockAPIError):
    """Passlock answered with JSON that does not have the documented shape."""

    code = "malformed_response"


class ChallengeError(PasslockAPIError):
    """Base class of the refusals of a mailbox challenge (email one-time code)."""

    status_code = 400
    code = "challenge_failed"


class ChallengeRateLimited(ChallengeError):
    """Too many challenges for this address: :attr:`retry_after` seconds to wait."""

    status_code = 429
    code = "challenge_rate_limited"

    def __init__(
        self, detail: str | None = None, *, reason: str | None = None, retry_after: int = 60
    ) -> None:
        #: Seconds until a new challenge may be created.
        self.retry_after = max(1, int(retry_after))
        super().__init__(detail, reason=reason)

    @property
    def detail(self) -> str:
        return self.custom_detail or message(self.code, seconds=self.retry_after)

    def extra(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}


class InvalidChallenge(ChallengeError):
    """No such challenge, or its secret does not match (it may have been replaced)."""

    code = "invalid_challenge"


class InvalidChallengeCode(ChallengeError):
    """The one-time code is wrong."""

    code = "invalid_challenge_code"


class ChallengeExpired(ChallengeError):
    """The challenge expired before it was verified."""

    code = "challenge_expired"


class ChallengeAttemptsExceeded(ChallengeError):
    """Too many wrong codes: the challenge can no longer be verified."""

    code = "challenge_attempts_exceeded"


# -- refusals of the blueprint ----------------------------------------------------------------


class BadRequest(PasslockError):
    """The request body is malformed, is missing a field, or has the wrong type."""

    status_code = 400
    code = "bad_request"


class PayloadTooLarge(PasslockError):
    """The request body is larger than any passkey request needs."""

    status_code = 413
    code = "payload_too_large"


class CrossSiteRequest(PasslockError):
    """A POST came from another origin (Origin/Referer check failed)."""

    status_code = 403
    code = "cross_site_request"


class RateLimited(PasslockError):
    """Too many requests from this client (``PASSLOCK_RATE_LIMITS``)."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, *, retry_after: int = 60, reason: str | None = None) -> None:
        #: Seconds until the limit resets.
        self.retry_after = max(1, int(retry_after))
        super().__init__(reason=reason)

    def extra(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}


class NotSignedIn(PasslockError):
    """The route needs a signed-in user and there is none."""

    status_code = 401
    code = "not_signed_in"


class LinkError(PasslockError):
    """Linking a passkey to a user was refused. Raise it from a ``link_passkey`` hook."""

    status_code = 409
    code = "link_refused"


class AlreadyLinked(LinkError):
    """The authenticator is already linked (to this or another user)."""

    code = "already_linked"


class UnknownUser(LinkError):
    """The user to link to does not exist (any more)."""

    status_code = 400
    code = "unknown_user"


class StorageError(PasslockError):
    """The database failed; the transaction was rolled back and nothing was written."""

    status_code = 503
    code = "storage_error"


class NoSuchPasskey(PasslockError):
    """No passkey with this ID belongs to the signed-in user (another user's is "no such")."""

    status_code = 404
    code = "not_found"


class UnknownPasskey(PasslockError):
    """Sign-in with a passkey that is not linked to any account here."""

    status_code = 401
    code = "unknown_passkey"


class NotAPasskey(PasslockError):
    """The principal was not made by a passkey."""

    status_code = 400
    code = "not_a_passkey"


class UserDisabled(PasslockError):
    """The account the passkey belongs to is disabled (``is_active`` is false)."""

    status_code = 403
    code = "user_disabled"


class WrongPasskey(PasslockError):
    """Re-verification used a passkey of another account."""

    status_code = 403
    code = "wrong_passkey"


class WrongAccount(PasslockError):
    """Sign-in named a username, and the passkey belongs to another account."""

    status_code = 403
    code = "wrong_account"


class UserNotVerified(PasslockError):
    """The passkey did not verify the user (PIN, biometrics) where that is required."""

    status_code = 403
    code = "user_not_verified"


class InvalidUsername(PasslockError):
    """A username that is empty, too long, or has control or invisible characters."""

    status_code = 400
    code = "invalid_username"


class InvalidLabel(PasslockError):
    """A passkey name that is empty, too long, or has control or invisible characters."""

    status_code = 400
    code = "invalid_label"


class UsernameTaken(PasslockError):
    """Passkey-first sign-up with a username that already has an account."""

    status_code = 409
    code = "username_taken"


class LastPasskey(PasslockError):
    """Deleting the user's last passkey, and the app says they have no other way in."""

    status_code = 409
    code = "last_passkey"


class ReauthenticationRequired(PasslockError):
    """The view needs a recent passkey verification (step-up)."""

    status_code = 401
    code = "reauthentication_required"


class InvalidIdToken(PasslockError):
    """The id_token failed local verification (signature, issuer, audience, expiry...)."""

    status_code = 400
    code = "invalid_id_token"


class IdTokenReplayed(InvalidIdToken):
    """The ceremony (its id_token's ``jti``, or its code's principal) was already used."""

    code = "id_token_replayed"


# -- account recovery and email codes ---------------------------------------------------------


class InvalidEmail(PasslockError):
    """Not an email address (or one too long, or with invisible characters)."""

    status_code = 400
    code = "invalid_email"


class CodeNotSent(PasslockError):
    """A code was typed, but this browser has no code waiting (never asked, or used up)."""

    status_code = 400
    code = "code_not_sent"


class EmailNotSent(PasslockError):
    """The email carrying the code could not be sent (the app's mail server failed)."""

    status_code = 503
    code = "email_not_sent"


class EmailNotVerified(PasslockError):
    """Sign-up needs a confirmed email address (``PASSLOCK_SIGNUP_VERIFY_EMAIL``) first."""

    status_code = 403
    code = "email_not_verified"


class EmailInUse(PasslockError):
    """Sign-up with an address another account already has (told only to whoever proved they
    hold the mailbox)."""

    status_code = 409
    code = "email_in_use"


class NoAccount(PasslockError):
    """Recovery: the address was proven, but no account (able to sign in) has it."""

    status_code = 404
    code = "no_account"
