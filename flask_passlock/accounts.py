"""Flows on a whole account's passkeys: forgetting them when the account is deleted, and
showing a new username for them (at Passlock, then on the device)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import device, signals
from .ceremony import sender
from .exceptions import NotFound
from .store import primary_key


class AccountFlows:
    """Mixed into :class:`~flask_passlock.Passlock`; uses its ``store`` and ``client``."""

    store: Any
    client: Any

    def forget_user(self, user: Any) -> list[dict[str, Any]]:
        """Delete every passkey of ``user``, at Passlock and here, and commit; for deleting an
        account (call it before deleting the user). Returns Passlock's records of them.

        One call to Passlock when every passkey carries the app's user id there (assigned at
        the code exchange), else one per passkey. If Passlock fails, nothing is deleted here
        (the error is raised: retry later); passkeys Passlock no longer knows are deleted
        here. Sends :data:`~flask_passlock.signals.user_forgotten`; the device is told to
        forget the passkeys on the next page that loads the Passlock scripts.
        """
        store, client = self.store, self.client
        with store.transaction():
            rows = store.authenticators_for(user)
            records = _at_passlock(
                user, rows, client.delete_user_passkeys, lambda row: client.delete_passkey(row.id)
            )
            store.delete(rows)
        device.queue_forget(records)
        signals.user_forgotten.send(
            sender(),
            user=user,
            authenticator_ids=[row.id for row in rows],
            records=records,
        )
        return records

    def update_username(self, user: Any, username: str) -> list[dict[str, Any]]:
        """Show ``username`` for ``user``'s passkeys at Passlock and, on the next page that
        loads the Passlock scripts, on the device (WebAuthn Signal API). Call it after a
        username change; returns Passlock's updated records.

        :raises PasslockError: Passlock failed (nothing to undo: call it again later).
        """
        client = self.client
        records = _at_passlock(
            user,
            self.store.authenticators_for(user),
            lambda user_id: client.update_user_passkeys(user_id, username),
            lambda row: client.update_passkey(row.id, username=username),
        )
        device.queue_rename(records, username)
        return records


def _at_passlock(
    user: Any,
    rows: list[Any],
    by_user: Callable[[str], list[dict[str, Any]]],
    by_passkey: Callable[[Any], dict[str, Any]],
) -> list[dict[str, Any]]:
    """One call by Passlock user id when every passkey carries the app's user id there, else
    one call per passkey; passkeys Passlock no longer knows are skipped."""
    user_id = str(primary_key(user))
    if rows and all(row.passlock_user_id == user_id for row in rows):
        try:
            return by_user(user_id)
        except NotFound:
            return []  # Passlock had none of them any more
    records = []
    for row in rows:
        try:
            records.append(by_passkey(row))
        except NotFound:
            continue
    return records
