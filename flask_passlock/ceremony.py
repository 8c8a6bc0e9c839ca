"""Accepting a passkey ceremony: its principal (from the id_token, or the code), used once,
linked in one transaction; and, when something fails after Passlock made a passkey, deleting
that passkey again so nothing is left the user cannot retry from."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, g, request
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from . import config as cfg
from . import device, signals
from ._http import read_body, string_field
from ._text import clean_label
from .exceptions import (
    AlreadyLinked,
    BadRequest,
    IdTokenReplayed,
    InvalidIdToken,
    PasslockAPIError,
    PasslockError,
    PasslockUnavailable,
    UsernameTaken,
)
from .principal import Principal
from .state import get_state

logger = logging.getLogger("flask_passlock")


def sender() -> Any:
    """The current app itself (the sender of signals)."""
    return current_app._get_current_object()  # type: ignore[attr-defined]


def username_for(user: Any) -> str:
    """A name to give the passkey on the device: the user's username, email or id."""
    for attr in ("username", "email", "name"):
        value = getattr(user, attr, None)
        if isinstance(value, str) and value:
            return value
    get_id = getattr(user, "get_id", None)
    return str(get_id() if callable(get_id) else "")


def principal_from(data: dict[str, Any], action: str, *, user_id: str | None = None) -> Principal:
    """The principal a request carries: its ``id_token`` verified locally (no call to
    Passlock) when ``PASSLOCK_VERIFY_ID_TOKEN`` is on, else its ``code`` exchanged with
    Passlock (assigning ``user_id`` to the passkey there, when given). Sends
    ``exchange_failed`` when neither is accepted."""
    state = get_state()
    token = string_field(data, "id_token", required=False)
    code = string_field(data, "code", required=False)
    try:
        principal = None
        if state.verifier is not None and token:
            try:
                principal = state.verifier.verify(token)
            except PasslockUnavailable:
                if not code:
                    raise  # the key set cannot be had: exchange the code instead, if any
        if principal is None:
            if not code:
                raise BadRequest(reason="no code" if token is None else "no code (id_token off)")
            principal = state.client.exchange_code(code, user_id=user_id)
    except (PasslockAPIError, InvalidIdToken) as error:
        logger.warning("Passkey ceremony refused (%s): %s", error.code, error.reason)
        signals.exchange_failed.send(sender(), error=error, action=action)
        raise
    g.passlock_principal = principal
    return principal


def use_once(principal: Principal) -> None:
    """One ceremony opens at most one session, whichever of its code and id_token comes.

    Call it last in the transaction, just before the commit: on PostgreSQL its row holds
    any other request for the same ceremony until this transaction ends. A ceremony used
    before raises ``IdTokenReplayed``."""
    leeway = float(current_app.config[cfg.ID_TOKEN_LEEWAY])
    get_state().require_store().use_once(principal, keep_for=leeway)


def discard(principal: Principal) -> dict[str, Any] | None:
    """Best effort, after a registration or sign-up failed here: delete the new passkey at
    Passlock (and tell the device to forget it), so nothing is left that the user cannot
    retry from. A passkey linked to anyone here is never touched."""
    state = get_state()
    store = state.require_store()
    try:
        if store.find_authenticator(principal.authenticator_id) is not None:
            return None
    except SQLAlchemyError:
        store.rollback()
        if not _made_in(principal):  # the database is down: only this ceremony's own passkey
            return None
    try:
        record = state.client.delete_passkey(principal.authenticator_id)
    except PasslockError as error:
        logger.info("Could not delete an unused passkey at Passlock (%s)", error.code)
        return None
    device.queue_forget([record])
    return record


def _made_in(principal: Principal) -> bool:
    try:
        created = get_state().client.get_passkey(principal.authenticator_id).get("createdAt")
    except PasslockError:
        return False
    born = principal.created_at.timestamp()
    return isinstance(created, (int, float)) and abs(created / 1000 - born) < 600


def json_of(authenticator: Any, principal: Principal) -> dict[str, Any]:
    to_dict = getattr(authenticator, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    return {"id": principal.authenticator_id}


def link_new_passkey(user: Any, principal: Principal, new_user: str | None = None) -> Any:
    """Use the ceremony, create the user (sign-up: ``new_user`` is the username), link the
    passkey and commit; on failure roll back, delete the unused passkey at Passlock and send
    ``link_failed``. Returns ``(user, authenticator, its JSON)``."""
    extension, store = get_state().extension, get_state().require_store()
    try:
        with store.transaction():
            if new_user is not None:
                user = _create_user(new_user, principal)
            try:
                authenticator = extension.link(user, principal)
            except AlreadyLinked:
                if store.was_used(principal.id):  # linked by this very ceremony, earlier
                    raise IdTokenReplayed(reason="ceremony used before") from None
                raise
            as_dict = json_of(authenticator, principal)
            use_once(principal)
    except (PasslockError, SQLAlchemyError) as error:
        logger.info("Passkey not linked (%s)", getattr(error, "code", type(error).__name__))
        if not isinstance(error, (AlreadyLinked, IdTokenReplayed)):
            discard(principal)
        signals.link_failed.send(sender(), user=user, principal=principal, error=error)
        raise
    return user, authenticator, as_dict


def username_free(username: str) -> None:
    """:class:`~flask_passlock.exceptions.UsernameTaken` when an account has ``username``."""
    if get_state().extension.find_user_by_username(username) is not None:
        raise UsernameTaken()


def _create_user(username: str, principal: Principal) -> Any:
    extension = get_state().extension
    username_free(username)
    try:
        return extension.new_user(username, principal)
    except IntegrityError:
        get_state().require_store().rollback()
        if extension.find_user_by_username(username) is not None:
            raise UsernameTaken() from None  # taken by a concurrent sign-up
        raise


def optional_label(data: dict[str, Any]) -> str | None:
    value = data.get("label")
    return clean_label(value) if value not in (None, "") else None


def discard_unread() -> None:
    """A register or sign-up failed on the database before its ceremony was read (loading
    the user): read it now, only to delete the new passkey at Passlock (best effort)."""
    if g.get("passlock_principal") is not None:
        return  # read already: link_new_passkey cleaned up
    try:
        data = read_body()
        action = (request.endpoint or "").rpartition(".")[2]
        principal = principal_from(data, action)
    except PasslockError:
        return
    discard(principal)
