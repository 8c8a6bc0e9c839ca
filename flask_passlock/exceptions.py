"""Every error Flask-Passlock raises, with the HTTP status and stable code it answers with.

Messages never contain the API key, a code or an id_token.
"""

from __future__ import annotations


class PasslockError(Exception):
    """Base class. ``status_code`` and ``code`` decide the answer the blueprint gives."""

    #: HTTP status the blueprint answers with.
    status_code: int = 500
    #: Stable machine-readable code, used in JSON answers (``{"code", "detail"}``).
    code: str = "passlock_error"
    #: Sentence shown to the user when no more specific one is given.
    default_detail: str = "The passkey request failed."

    def __init__(self, detail: str | None = None, *, reason: str | None = None) -> None:
        #: The sentence for the user (JSON ``detail``, the error page).
        self.detail = detail or self.default_detail
        #: A technical reason for logs and developers, never shown to the user.
        self.reason = reason
        super().__init__(f"{self.detail} ({reason})" if reason else self.detail)


# -- answers from (or about) the Passlock service ---------------------------------------------


class PasslockAPIError(PasslockError):
    """Base class of the errors :class:`~flask_passlock.client.PasslockClient` raises."""

    status_code = 502
    code = "passlock_error"


class InvalidCode(PasslockAPIError):
    """The code is unknown, expired, already used, or not shaped like a code."""

    status_code = 400
    code = "invalid_code"
    default_detail = "The passkey code is invalid, expired or was already used. Please try again."


class Forbidden(PasslockAPIError):
    """Passlock refused the API key or tenancy ID: a server configuration problem."""

    status_code = 502
    code = "passlock_forbidden"
    default_detail = "The server could not verify the passkey (Passlock refused its credentials)."


class NotFound(PasslockAPIError):
    """Passlock knows no such passkey."""

    status_code = 404
    code = "not_found"
    default_detail = "No such passkey."


class PassLockUnavailable(PasslockAPIError):
    """Passlock could not be reached, timed out, or answered with an error page (5xx, HTML,
    empty body, unknown error tag)."""

    status_code = 503
    code = "passlock_unavailable"
    default_detail = "The passkey service is unavailable. Please try again in a moment."


#: Alternative spelling of :class:`PassLockUnavailable`.
PasslockUnavailable = PassLockUnavailable


class MalformedResponse(PasslockAPIError):
    """Passlock answered with JSON that does not have the documented shape."""

    status_code = 502
    code = "malformed_response"
    default_detail = "The passkey service sent an answer the server could not understand."


# -- refusals of the blueprint ----------------------------------------------------------------


class BadRequest(PasslockError):
    """The request body is missing a field, has the wrong type, or is not a form/JSON object."""

    status_code = 400
    code = "bad_request"
    default_detail = "The request was not understood."


class PayloadTooLarge(PasslockError):
    """The request body is larger than any passkey request needs."""

    status_code = 413
    code = "payload_too_large"
    default_detail = "The request is too large."


class CrossSiteRequest(PasslockError):
    """A POST came from another origin (Origin/Referer check failed)."""

    status_code = 403
    code = "cross_site_request"
    default_detail = "Cross-site request refused."


class NotSignedIn(PasslockError):
    """The route needs a signed-in user and there is none."""

    status_code = 401
    code = "not_signed_in"
    default_detail = "Please sign in first."


class LinkError(PasslockError):
    """Linking a passkey to a user was refused. Raise it from a ``link_passkey`` hook."""

    status_code = 409
    code = "link_refused"
    default_detail = "This passkey could not be linked to your account."


class AlreadyLinked(LinkError):
    """The authenticator is already linked (to this or another user)."""

    code = "already_linked"
    default_detail = "This passkey is already linked to an account."


class UnknownUser(LinkError):
    """The user to link to does not exist (any more)."""

    status_code = 400
    code = "unknown_user"
    default_detail = "The account to link this passkey to does not exist."


class StorageError(PasslockError):
    """The database failed while saving; nothing was written."""

    status_code = 503
    code = "storage_error"
    default_detail = "The passkey could not be saved. Please try again."


class NoSuchPasskey(PasslockError):
    """No passkey with this ID belongs to the signed-in user (another user's is "no such")."""

    status_code = 404
    code = "not_found"
    default_detail = "No such passkey."


class UnknownPasskey(PasslockError):
    """Sign-in with a passkey that is not linked to any account here."""

    status_code = 401
    code = "unknown_passkey"
    default_detail = "This passkey is not linked to any account here."


class NotAPasskey(PasslockError):
    """The principal was not made by a passkey."""

    status_code = 400
    code = "not_a_passkey"
    default_detail = "Please sign in with a passkey."


class UserDisabled(PasslockError):
    """The account the passkey belongs to is disabled (``is_active`` is false)."""

    status_code = 403
    code = "user_disabled"
    default_detail = "This account is disabled."


class WrongPasskey(PasslockError):
    """Re-verification used a passkey of another account."""

    status_code = 403
    code = "wrong_passkey"
    default_detail = "Please use one of your own passkeys."


class InvalidUsername(PasslockError):
    """The username for a passkey-first sign-up is empty, too long or has control characters."""

    status_code = 400
    code = "invalid_username"
    default_detail = "Choose a username of 1 to 64 characters."


class UsernameTaken(PasslockError):
    """Passkey-first sign-up with a username that already has an account."""

    status_code = 409
    code = "username_taken"
    default_detail = "That username is taken. Please choose another one."


class LastPasskey(PasslockError):
    """Deleting the user's last passkey, and the app says they have no other way in."""

    status_code = 409
    code = "last_passkey"
    default_detail = "This is your only way to sign in: add another passkey before deleting it."


class ReauthenticationRequired(PasslockError):
    """The view needs a recent passkey verification (step-up)."""

    status_code = 401
    code = "reauthentication_required"
    default_detail = "Please confirm it's you with your passkey."


class InvalidIdToken(PasslockError):
    """The id_token failed local verification (signature, issuer, audience, expiry...)."""

    status_code = 400
    code = "invalid_id_token"
    default_detail = "The passkey sign-in could not be verified. Please try again."


class IdTokenReplayed(InvalidIdToken):
    """The id_token's ``jti`` was already used."""

    code = "id_token_replayed"
