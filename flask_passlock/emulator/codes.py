"""Codes and id_tokens minted at the end of a ceremony, and the ceremony sessions before it."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .clock import Clock
from .errors import ApiError, bad_request


@dataclass(frozen=True)
class IssuedCode:
    """A code minted as a finished ceremony would give it to the browser."""

    code: str
    id_token: str
    authenticator_id: str
    user_id: str
    principal: dict[str, Any]


class CodeBook:
    """Single-use codes (each names a principal) and ceremony sessions, both living ``ttl``
    seconds. Not thread-safe: the backend holds its lock around calls."""

    def __init__(self, ttl: int, clock: Clock | None = None) -> None:
        self.ttl = ttl
        self.clock = clock or Clock()
        self._codes: dict[str, dict[str, Any]] = {}
        self._sessions: dict[str, dict[str, Any]] = {}

    def mint(
        self,
        tenancy: str,
        passkey: dict[str, Any],
        user_verified: bool,
        metadata: dict[str, Any],
        sign: Callable[[dict[str, Any]], str],
    ) -> IssuedCode:
        """A new code and id_token (signed with ``sign``) for a ceremony with ``passkey``."""
        now = self.clock.ms()
        principal: dict[str, Any] = {
            "_tag": "ExtendedPrincipal",
            "id": secrets.token_urlsafe(16),
            "authenticatorId": passkey["id"],
            "authenticatorType": "passkey",
            "createdAt": now,
            "expiresAt": now + self.ttl * 1000,
            "userId": passkey["userId"],
            "passkey": {"userVerified": user_verified, "verified": True},
            "metadata": metadata,
        }
        if passkey.get("platformName"):
            principal["passkey"]["platformName"] = passkey["platformName"]
        _drop_expired(self._codes, self.clock.time())
        code = secrets.token_urlsafe(32)
        self._codes[code] = {
            "tenancy": tenancy,
            "principal": principal,
            "expires": now / 1000 + self.ttl,
        }
        id_token = sign(
            {
                "iss": "passlock.dev",
                "aud": tenancy,
                "sub": passkey["userId"],
                "jti": principal["id"],
                "iat": now // 1000,
                "exp": now // 1000 + self.ttl,
                "a:id": passkey["id"],
                "a:typ": "passkey",
                "pk:uv": user_verified,
            }
        )
        return IssuedCode(code, id_token, passkey["id"], passkey["userId"], dict(principal))

    def take(self, tenancy: str, code: str) -> dict[str, Any]:
        """The principal ``code`` names (the code is used up); ``@error/InvalidCode`` for an
        unknown, expired or used code, or another tenancy's."""
        entry = self._codes.get(code)
        if entry is None or entry["tenancy"] != tenancy:
            raise ApiError("@error/InvalidCode")
        del self._codes[code]
        if entry["expires"] < self.clock.time():
            raise ApiError("@error/InvalidCode")
        return dict(entry["principal"])

    def open_session(self, tenancy: str, kind: str, data: dict[str, Any]) -> str:
        """Remember a ceremony in progress; returns its ``sessionToken``."""
        _drop_expired(self._sessions, self.clock.time())
        token = secrets.token_urlsafe(24)
        expires = self.clock.time() + self.ttl
        self._sessions[token] = {**data, "tenancy": tenancy, "kind": kind, "expires": expires}
        return token

    def take_session(self, tenancy: str, kind: str, token: Any) -> dict[str, Any]:
        """The session ``token`` names (used up); ``@error/BadRequest`` if there is none."""
        session = self._sessions.pop(token, None) if isinstance(token, str) else None
        if (
            session is None
            or session["tenancy"] != tenancy
            or session["kind"] != kind
            or session["expires"] < self.clock.time()
        ):
            raise bad_request("Unknown or expired session")
        return session

    def dump(self) -> dict[str, Any]:
        return self._codes

    def load(self, data: dict[str, Any]) -> None:
        self._codes = {str(code): dict(entry) for code, entry in data.items()}


def _drop_expired(entries: dict[str, dict[str, Any]], now: float) -> None:
    for key in [k for k, entry in entries.items() if entry["expires"] < now]:
        del entries[key]
