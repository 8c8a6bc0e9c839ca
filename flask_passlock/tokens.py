"""Local verification of Passlock id_tokens with the tenancy's JWKS (``jwt`` extra).

A verified id_token stands in for the code exchange, so a sign-in makes no call to Passlock
while the JWKS is cached. The checks: an allow-listed asymmetric algorithm (never ``none`` or
HMAC), a ``kid`` found in the JWKS (keys rotate: an unknown ``kid`` downloads it again, at most
once per ``min_refresh`` seconds), the signature, ``iss``, ``aud`` (the tenancy ID), ``exp``
and ``iat``. That each ``jti`` is used once is checked by the caller against the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import requests

from .exceptions import InvalidIdToken, PassLockUnavailable
from .principal import PasskeyDetails, Principal

#: Claims every Passlock id_token carries.
REQUIRED_CLAIMS = ["iss", "aud", "sub", "jti", "iat", "exp", "a:id"]

_SYMMETRIC = {"HS256", "HS384", "HS512", "none"}


class IdTokenVerifier:
    """Verifies id_tokens of one tenancy; keeps the JWKS in memory (per process)."""

    def __init__(
        self,
        jwks_url: str,
        audience: str,
        *,
        session: requests.Session,
        timeout: Any,
        issuer: str = "passlock.dev",
        algorithms: Sequence[str] = ("RS256", "PS256", "ES256", "ES384", "EdDSA"),
        leeway: float = 30,
        min_refresh: float = 30,
    ) -> None:
        import jwt  # noqa: F401 - fail early without the extra

        bad = _SYMMETRIC.intersection(algorithms)
        if bad:
            raise ValueError(f"id_token algorithms must be asymmetric; refusing {sorted(bad)}.")
        self.jwks_url = jwks_url
        self.audience = audience
        self.issuer = issuer
        self.algorithms = tuple(algorithms)
        self.leeway = leeway
        self.min_refresh = min_refresh
        self._session = session
        self._timeout = timeout
        self._keys: dict[str, tuple[Any, str | None]] = {}
        self._keys_loaded = False
        self._refreshed_at: float | None = None
        self._lock = threading.Lock()
        #: How many times the JWKS was downloaded.
        self.fetches = 0

    def verify(self, token: str) -> Principal:
        """Return the principal the token stands for, or raise :class:`InvalidIdToken`."""
        import jwt

        if not isinstance(token, str) or not token or len(token) > 8192:
            raise InvalidIdToken(reason="not a token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidIdToken(reason="not a JWT") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise InvalidIdToken(reason=f"algorithm {alg!r} not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidIdToken(reason="no kid")
        found = self._key(kid)
        if found is None:
            raise InvalidIdToken(reason="unknown kid")
        jwk, key_alg = found
        if key_alg is not None and key_alg != alg:
            raise InvalidIdToken(reason="kid is for another algorithm")
        try:
            claims = jwt.decode(
                token,
                key=jwk.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidIdToken(reason="expired") from None
        except jwt.PyJWTError as exc:
            raise InvalidIdToken(reason=type(exc).__name__) from None
        return principal_from_claims(claims)

    def _key(self, kid: str) -> tuple[Any, str | None] | None:
        with self._lock:
            if self._keys_loaded is False:
                self._keys = self._fetch()
                self._keys_loaded = True
            if kid in self._keys:
                return self._keys[kid]
            # An unknown kid: keys may have rotated. Download again, but at most once per
            # min_refresh seconds, so a flood of made-up kids cannot hammer Passlock.
            now = time.monotonic()
            if self._refreshed_at is None or now - self._refreshed_at >= self.min_refresh:
                self._refreshed_at = now
                self._keys = self._fetch()
            return self._keys.get(kid)

    def _fetch(self) -> dict[str, tuple[Any, str | None]]:
        import jwt

        self.fetches += 1
        try:
            response = self._session.get(self.jwks_url, timeout=self._timeout)
            data = response.json()
        except requests.RequestException:
            raise PassLockUnavailable(reason="JWKS could not be fetched") from None
        except ValueError:
            raise PassLockUnavailable(reason="JWKS is not JSON") from None
        if response.status_code != 200 or not isinstance(data, dict):
            raise PassLockUnavailable(reason=f"JWKS answered HTTP {response.status_code}")
        keys: dict[str, tuple[Any, str | None]] = {}
        for entry in data.get("keys") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            if entry.get("kty") == "oct":
                continue  # a symmetric key has no place in a public key set
            try:
                alg = entry.get("alg") if isinstance(entry.get("alg"), str) else None
                keys[entry["kid"]] = (jwt.PyJWK(entry), alg)
            except jwt.PyJWTError:
                continue
        return keys


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    def text(name: str) -> str:
        value = claims.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidIdToken(reason=f"claim {name!r} missing")
        return value

    def when(name: str) -> datetime:
        value = claims.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidIdToken(reason=f"claim {name!r} missing")
        return datetime.fromtimestamp(value, tz=timezone.utc)

    user_verified = claims.get("pk:uv")
    return Principal(
        id=text("jti"),
        authenticator_id=text("a:id"),
        authenticator_type=str(claims.get("a:typ") or "passkey"),
        user_id=text("sub"),
        created_at=when("iat"),
        expires_at=when("exp"),
        passkey=PasskeyDetails(user_verified=user_verified is True, verified=True),
        raw=dict(claims),
    )
