"""Passkey records as the emulator holds them, and as Passlock's REST API answers them."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from .clock import Clock
from .errors import bad_request, not_found

#: Names Passlock shows for well-known authenticator AAGUIDs.
PLATFORM_NAMES = {
    "fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
    "dd4ec289-e01d-41c9-bb89-70fa845d4bf2": "iCloud Keychain (Managed)",
    "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
    "adce0002-35bc-c60a-648b-0b25f1f05503": "Chrome on Mac",
    "08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
    "bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
    "d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
}

#: The transports @passlock/server's schema accepts; others are not stored.
TRANSPORTS = ("ble", "hybrid", "internal", "nfc", "usb", "cable", "smart-card")


def new_record(
    tenancy: str,
    passkey_id: str,
    *,
    credential_id: bytes,
    public_key: bytes,
    username: str,
    user_handle: str,
    aaguid: str,
    rp_id: str,
    platform_name: str | None = None,
    backed_up: bool = False,
    device_type: str = "singleDevice",
    transports: Any = None,
    counter: int = 0,
    now: int,
) -> dict[str, Any]:
    """A passkey record made at ``now`` (epoch ms); its ``userId`` starts as the passkey id
    (as at Passlock)."""
    return {
        "id": passkey_id,
        "tenancyId": tenancy,
        "userId": passkey_id,
        "credentialId": bytes_to_base64url(credential_id),
        "publicKey": public_key,
        "counter": counter,
        "username": username,
        "userHandle": user_handle,
        "aaguid": aaguid,
        "rpId": rp_id,
        "platformName": platform_name or PLATFORM_NAMES.get(aaguid),
        "backedUp": backed_up,
        "deviceType": device_type,
        "transports": [t for t in transports or [] if t in TRANSPORTS],
        "enabled": True,
        "createdAt": now,
        "updatedAt": now,
        "lastUsed": None,
    }


def passkey_json(p: dict[str, Any]) -> dict[str, Any]:
    """``{_tag: "Passkey", ...}``: optional fields are left out, never ``null``."""
    record: dict[str, Any] = {
        "_tag": "Passkey",
        "id": p["id"],
        "userId": p["userId"],
        "credential": {
            "id": p["credentialId"],
            "userId": p["userHandle"],
            "username": p["username"],
            "aaguid": p["aaguid"],
            "backedUp": p["backedUp"],
            "counter": p["counter"],
            "deviceType": p["deviceType"],
            "transports": p["transports"],
            "publicKey": bytes_to_base64url(p["publicKey"]),
            "rpId": p["rpId"],
        },
        "enabled": p["enabled"],
        "createdAt": p["createdAt"],
        "updatedAt": p["updatedAt"],
    }
    if p.get("platformName"):
        record["platform"] = {"name": p["platformName"]}
    if p.get("lastUsed"):
        record["lastUsed"] = p["lastUsed"]
    return record


def summary_json(p: dict[str, Any]) -> dict[str, Any]:
    """``{_tag: "PasskeySummary", ...}``, a record of ``GET /{t}/passkeys/``."""
    record: dict[str, Any] = {
        "_tag": "PasskeySummary",
        "id": p["id"],
        "userId": p["userId"],
        "credential": {"id": p["credentialId"], "userId": p["userHandle"]},
        "enabled": p["enabled"],
        "createdAt": p["createdAt"],
    }
    if p.get("lastUsed"):
        record["lastUsed"] = p["lastUsed"]
    return record


class PasskeyBook:
    """The passkeys of every tenancy, in creation order. Not thread-safe: the backend holds
    its lock around calls. Methods raise ``@error/NotFound`` for another tenancy's passkey."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._passkeys: dict[str, dict[str, Any]] = {}
        self._sequence = 0

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        self._sequence += 1
        record["seq"] = self._sequence
        self._passkeys[record["id"]] = record
        return record

    def __contains__(self, passkey_id: object) -> bool:
        return passkey_id in self._passkeys

    def all(self) -> dict[str, dict[str, Any]]:
        return {k: dict(v) for k, v in self._passkeys.items()}

    def find(self, tenancy: str, passkey_id: str) -> dict[str, Any]:
        passkey = self._passkeys.get(passkey_id)
        if passkey is None or passkey["tenancyId"] != tenancy:
            raise not_found("Passkey not found")
        return passkey

    def get(self, passkey_id: str) -> dict[str, Any] | None:
        return self._passkeys.get(passkey_id)

    def by_credential(self, tenancy: str, credential_id: Any) -> dict[str, Any] | None:
        for p in self._passkeys.values():
            if p["tenancyId"] == tenancy and p["credentialId"] == credential_id:
                return p
        return None

    def credential_ids(self, tenancy: str, passkey_ids: Any) -> list[str]:
        if not isinstance(passkey_ids, list):
            return []
        found = [self._passkeys.get(i) for i in passkey_ids if isinstance(i, str)]
        return [p["credentialId"] for p in found if p and p["tenancyId"] == tenancy]

    def update(self, tenancy: str, passkey_id: str, **changes: Any) -> dict[str, Any]:
        """Set ``userId`` / ``username`` where given as strings; ``@error/BadRequest`` for a
        value of another type."""
        for name, value in changes.items():
            if value is not None and not isinstance(value, str):
                raise bad_request(f"{name} must be a string")
        passkey = self.find(tenancy, passkey_id)
        passkey.update({k: v for k, v in changes.items() if v is not None})
        passkey["updatedAt"] = self.clock.ms()
        return passkey

    def delete(self, tenancy: str, passkey_id: str) -> dict[str, Any]:
        return self._passkeys.pop(self.find(tenancy, passkey_id)["id"])

    def page(
        self, tenancy: str, cursor: str | None, size: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``size`` records after ``cursor``, and the cursor of the next page (``None``
        on the last one). A cursor stays valid when passkeys are deleted in between."""
        after = _decode_cursor(cursor) if cursor else 0
        rest = [
            p for p in self._passkeys.values() if p["tenancyId"] == tenancy and p["seq"] > after
        ]
        page = rest[:size]
        return page, _encode_cursor(page[-1]["seq"]) if len(rest) > size else None

    def of_user(self, tenancy: str, user_id: str) -> list[dict[str, Any]]:
        """The user's passkeys; ``@error/NotFound`` when there are none (the user is unknown)."""
        found = [
            p
            for p in self._passkeys.values()
            if p["tenancyId"] == tenancy and p["userId"] == user_id
        ]
        if not found:
            raise not_found("No passkeys for this user")
        return found

    def dump(self) -> dict[str, Any]:
        return {
            "sequence": self._sequence,
            "records": [
                {**p, "publicKey": bytes_to_base64url(p["publicKey"])}
                for p in self._passkeys.values()
            ],
        }

    def load(self, data: dict[str, Any]) -> None:
        records = [{**p, "publicKey": base64url_to_bytes(p["publicKey"])} for p in data["records"]]
        self._passkeys = {p["id"]: p for p in sorted(records, key=lambda p: int(p["seq"]))}
        self._sequence = int(data["sequence"])


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": seq}).encode()).rstrip(b"=").decode()


def _decode_cursor(cursor: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = data["after"]
        if type(after) is not int or after < 0:
            raise ValueError(after)
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise bad_request("Invalid cursor") from exc
    return after
