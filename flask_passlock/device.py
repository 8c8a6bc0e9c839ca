"""What the browser should tell the device on the next page: forget a passkey, or show a new
username for it (the WebAuthn Signal API, through the Passlock client's ``deletePasskey`` and
``updatePasskey``). Queued in the signed session, handed to the page by
:func:`~flask_passlock.Passlock.browser_config`."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, session

#: Session key of the queue.
KEY = "_passlock_device"
#: Longest queue kept (a cookie is small).
MAX_QUEUED = 20


def credential_of(record: object) -> dict[str, Any] | None:
    """``{credentialId, userId, rpId}`` of a Passlock Passkey record, or ``None``."""
    credential = record.get("credential") if isinstance(record, dict) else None
    if not isinstance(credential, dict):
        return None
    found = {
        "credentialId": credential.get("id"),
        "userId": credential.get("userId"),
        "rpId": credential.get("rpId"),
    }
    return found if all(isinstance(v, str) and v for v in found.values()) else None


def queue_forget(records: list[dict[str, Any]]) -> None:
    """Ask the device to forget these deleted passkeys."""
    _queue([{"op": "forget", **c} for c in map(credential_of, records) if c])


def queue_rename(records: list[dict[str, Any]], username: str) -> None:
    """Ask the device to show ``username`` for these passkeys."""
    items = []
    for credential in map(credential_of, records):
        if credential:
            items.append({"op": "rename", "username": username, **credential})
    _queue(items)


def _queue(items: list[dict[str, Any]]) -> None:
    if items and has_request_context():  # no browser to tell outside a request (the CLI)
        session[KEY] = ([*session.get(KEY, []), *items])[-MAX_QUEUED:]


def pending() -> list[dict[str, Any]]:
    """Take what is queued (once)."""
    items = session.pop(KEY, None)
    return items if isinstance(items, list) else []
