"""The ExtendedPrincipal returned by Passlock's code exchange, as a typed value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._json import boolean, epoch_ms, mapping, optional_text, text
from .exceptions import MalformedResponse


@dataclass(frozen=True)
class PasskeyDetails:
    """The ``passkey`` part of a principal."""

    user_verified: bool
    verified: bool
    platform_name: str | None = None


@dataclass(frozen=True)
class Principal:
    """A successful registration or authentication, as Passlock reports it (from the code
    exchange, or from a verified id_token).

    Times are timezone-aware UTC datetimes. Nothing here says whether it came from a
    registration or a sign-in.
    """

    #: The principal's id (an id_token's ``jti``): one per ceremony.
    id: str
    authenticator_id: str
    authenticator_type: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    passkey: PasskeyDetails | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    #: The JSON object (or the id_token's claims) as received, unknown fields included.
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
        obj = mapping(data, "principal")
        if obj.get("_tag") != "ExtendedPrincipal":
            raise MalformedResponse(reason="Passlock's answer is not an ExtendedPrincipal.")
        passkey = None
        if obj.get("passkey") is not None:
            pk = mapping(obj["passkey"], "passkey")
            passkey = PasskeyDetails(
                user_verified=boolean(pk, "userVerified"),
                verified=boolean(pk, "verified"),
                platform_name=optional_text(pk, "platformName"),
            )
        metadata = mapping(obj.get("metadata"), "metadata")
        return cls(
            id=text(obj, "id"),
            authenticator_id=text(obj, "authenticatorId"),
            authenticator_type=text(obj, "authenticatorType"),
            user_id=text(obj, "userId"),
            created_at=epoch_ms(obj, "createdAt"),
            expires_at=epoch_ms(obj, "expiresAt"),
            passkey=passkey,
            ip_address=optional_text(metadata, "ipAddress"),
            user_agent=optional_text(metadata, "userAgent"),
            raw=dict(obj),
        )
