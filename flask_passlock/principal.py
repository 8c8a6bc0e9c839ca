"""The ExtendedPrincipal returned by Passlock's code exchange, as a typed value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .exceptions import MalformedResponse


@dataclass(frozen=True)
class PasskeyDetails:
    """The ``passkey`` part of a principal."""

    user_verified: bool
    verified: bool
    platform_name: str | None = None


@dataclass(frozen=True)
class Principal:
    """A successful registration or authentication, as Passlock reports it.

    Times are timezone-aware UTC datetimes (Passlock sends epoch milliseconds).
    Nothing here says whether it came from a registration or a sign-in.
    """

    id: str
    authenticator_id: str
    authenticator_type: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    passkey: PasskeyDetails | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    #: The JSON object as received, unknown fields included.
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def user_verified(self) -> bool:
        return bool(self.passkey and self.passkey.user_verified)

    @property
    def platform_name(self) -> str | None:
        return self.passkey.platform_name if self.passkey else None

    @classmethod
    def from_json(cls, data: object) -> Principal:
        """Parse an ExtendedPrincipal; raise :class:`MalformedResponse` if it is not one."""
        obj = _object(data, "principal")
        if obj.get("_tag") != "ExtendedPrincipal":
            raise MalformedResponse(reason="Passlock's answer is not an ExtendedPrincipal.")
        passkey = None
        if obj.get("passkey") is not None:
            pk = _object(obj["passkey"], "passkey")
            passkey = PasskeyDetails(
                user_verified=_bool(pk, "userVerified"),
                verified=_bool(pk, "verified"),
                platform_name=_optional_str(pk, "platformName"),
            )
        metadata = _object(obj.get("metadata"), "metadata")
        return cls(
            id=_str(obj, "id"),
            authenticator_id=_str(obj, "authenticatorId"),
            authenticator_type=_str(obj, "authenticatorType"),
            user_id=_str(obj, "userId"),
            created_at=_epoch_ms(obj, "createdAt"),
            expires_at=_epoch_ms(obj, "expiresAt"),
            passkey=passkey,
            ip_address=_optional_str(metadata, "ipAddress"),
            user_agent=_optional_str(metadata, "userAgent"),
            raw=dict(obj),
        )


def _object(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedResponse(reason=f"Passlock's answer has no '{name}' object.")
    return value


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedResponse(reason=f"Passlock's answer has no '{key}' string.")
    return value


def _optional_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise MalformedResponse(reason=f"Passlock's answer has a non-string '{key}'.")
    return value


def _bool(obj: Mapping[str, Any], key: str) -> bool:
    value = obj.get(key)
    if not isinstance(value, bool):
        raise MalformedResponse(reason=f"Passlock's answer has no '{key}' boolean.")
    return value


def _epoch_ms(obj: Mapping[str, Any], key: str) -> datetime:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedResponse(reason=f"Passlock's answer has no '{key}' timestamp.")
    try:
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise MalformedResponse(reason=f"Passlock's answer has an out-of-range '{key}'.") from None
