"""Local verification of Passlock id_tokens with the tenancy's JWKS.

A verified id_token stands in for the code exchange, so a ceremony is accepted with no call
to Passlock while the key set is cached. The checks: an allow-listed asymmetric algorithm
(never ``none`` or HMAC) that fits the key it names, a ``kid`` found in the key set, the
signature, ``iss``, ``aud`` (the tenancy ID), ``exp`` and ``iat`` (with ``leeway``), every
claim Passlock sends present and of the right type and length, and ``a:typ`` for what signed.
That each ceremony is used once is checked by the caller, against the database.

The key set is downloaded once per process and shared by all threads:

- a verification with a known ``kid`` never waits (no lock on that path);
- an unknown ``kid`` (keys rotate) downloads the set again; concurrent requests share one
  download; downloads are at least :data:`REFRESH_FLOOR` seconds apart, so a made-up ``kid``
  can delay a genuine rotation that follows it by that much at most; a ``kid`` still unknown
  after a download is not looked for again for ``min_refresh`` seconds;
- a failed download (first one included) is not retried for ``min(min_refresh, 5)`` seconds:
  meanwhile tokens that need it get :class:`~flask_passlock.PasslockUnavailable` at once.
"""

from __future__ import annotations

import base64
import math
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import jwt

from ._json import MAX_ID_LENGTH, loads
from .exceptions import InvalidIdToken, MalformedResponse, PasslockUnavailable
from .principal import PasskeyDetails, Principal

#: Claims every Passlock id_token carries.
REQUIRED_CLAIMS = ["iss", "aud", "sub", "jti", "iat", "exp", "a:id", "a:typ"]
#: Longest token accepted, in characters (Passlock's are well under 2 KB).
MAX_TOKEN_LENGTH = 8192
#: Fewest seconds between two downloads of the key set.
REFRESH_FLOOR = 1.0
#: Longest wait for a download another request started.
DOWNLOAD_WAIT = 10.0

#: The algorithms that may be allowed (asymmetric only: never ``none`` or HMAC), and the key
#: type (and curve) each needs.
_KEY_TYPES = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", None),
}

#: ``fetch()`` -> ``(HTTP status, body bytes)``, raising PasslockUnavailable on failure.
Fetch = Callable[[], "tuple[int, bytes]"]


class IdTokenVerifier:
    """Verifies the id_tokens of one tenancy; keeps the key set in memory (per process).

    :param fetch: downloads the key set (the REST client's deadline and size cap apply).
    :param clock: monotonic seconds; :param sleep: waits (both replaceable in tests).
    """

    def __init__(
        self,
        fetch: Fetch,
        audience: str,
        *,
        issuer: str = "passlock.dev",
        algorithms: Sequence[str] = ("RS256", "PS256", "ES256", "ES384", "EdDSA"),
        leeway: float = 30,
        min_refresh: float = 30,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        refused = sorted(set(algorithms) - set(_KEY_TYPES))
        if refused or not algorithms:
            refused = refused or ["(none given)"]
            raise ValueError(f"id_token algorithms must be asymmetric; refusing {refused}.")
        self.audience = audience
        self.issuer = issuer
        self.algorithms = tuple(algorithms)
        self.leeway = float(leeway)
        self.min_refresh = float(min_refresh)
        self._fetch = fetch
        self._clock = clock
        self._sleep = sleep
        self._keys: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._downloading: threading.Event | None = None
        self._last_download = -math.inf
        self._failed_at = -math.inf
        self._still_unknown: dict[str, float] = {}
        #: How many times the key set was downloaded (successfully or not).
        self.fetches = 0

    # -- verification -----------------------------------------------------------------------

    def verify(self, token: object) -> Principal:
        """The principal ``token`` stands for; :class:`InvalidIdToken` if it is not valid."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidIdToken(reason="not a token")
        header = _header(token)
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise InvalidIdToken(reason=f"algorithm {alg!r} not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > MAX_ID_LENGTH:
            raise InvalidIdToken(reason="no kid")
        found = self._key(kid)
        if found is None:
            raise InvalidIdToken(reason="unknown kid")
        key, jwk = found
        if not _fits(jwk, alg):
            raise InvalidIdToken(reason="the key is for another algorithm")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS, "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidIdToken(reason="expired") from None
        except (jwt.PyJWTError, RecursionError, ValueError) as exc:
            raise InvalidIdToken(reason=type(exc).__name__) from None
        return principal_from_claims(claims)

    # -- the key set ------------------------------------------------------------------------

    def _key(self, kid: str) -> tuple[Any, dict[str, Any]] | None:
        found = self._keys.get(kid)  # a dict replaced whole, never changed: no lock needed
        if found is not None:
            return found
        give_up = self._clock() + DOWNLOAD_WAIT
        while True:
            with self._lock:
                if kid in self._keys:
                    return self._keys[kid]
                event = self._downloading
                if event is None:
                    due = self._download_wait(kid, self._clock())
                    if due is None:
                        return None
                    wait = due
                    if wait <= 0:
                        self._downloading = threading.Event()
                        break
            # Another request is downloading, or the last download was a moment ago: wait.
            left = give_up - self._clock()
            if event is not None:
                if not event.wait(left):  # (a timeout <= 0 does not wait)
                    raise PasslockUnavailable(reason="the key set is being downloaded")
            elif wait > left:
                raise PasslockUnavailable(reason="the key set is being downloaded")
            else:
                self._sleep(wait)
        return self._download_for(kid)

    def _download_wait(self, kid: str, now: float) -> float | None:
        """Seconds until a download for ``kid`` may start (<= 0: now); ``None``: don't."""
        if now - self._failed_at < min(self.min_refresh, 5.0):
            raise PasslockUnavailable(reason="the key set could not be downloaded lately")
        if self._looked_for_lately(kid, now):
            return None
        return self._last_download + REFRESH_FLOOR - now

    def _looked_for_lately(self, kid: str, now: float) -> bool:
        """Whether ``kid`` was missing from a download less than ``min_refresh`` ago."""
        return now - self._still_unknown.get(kid, -math.inf) < self.min_refresh

    def _download_for(self, kid: str) -> tuple[Any, dict[str, Any]] | None:
        keys: dict[str, tuple[Any, dict[str, Any]]] | None = None
        try:
            keys = self._download()
        finally:
            with self._lock:
                now = self._clock()
                self._last_download = now
                if keys is None:
                    self._failed_at = now
                else:
                    self._keys = keys
                    self._still_unknown = {
                        k: t
                        for k, t in self._still_unknown.items()
                        if self._looked_for_lately(k, now)
                    }
                    if kid not in keys:
                        self._still_unknown[kid] = now
                event, self._downloading = self._downloading, None
            if event is not None:
                event.set()
        return keys.get(kid)

    def _download(self) -> dict[str, tuple[Any, dict[str, Any]]]:
        self.fetches += 1
        status, content = self._fetch()
        if status != 200:
            raise PasslockUnavailable(reason=f"the key set answered HTTP {status}")
        try:
            data = loads(content)
        except ValueError:
            raise PasslockUnavailable(reason="the key set is not JSON") from None
        entries = data.get("keys") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise MalformedResponse(reason="the key set has no 'keys' list")
        keys: dict[str, tuple[Any, dict[str, Any]]] = {}
        for entry in entries:
            kid = entry.get("kid") if isinstance(entry, dict) else None
            if not isinstance(kid, str):
                continue
            if entry.get("kty") not in ("RSA", "EC", "OKP"):
                continue  # a symmetric ("oct") key has no place in a public key set
            if entry.get("use", "sig") != "sig":
                continue
            try:
                keys[kid] = (jwt.PyJWK(entry).key, entry)
            except (jwt.PyJWTError, ValueError, TypeError, KeyError):
                continue
        return keys


def _header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS (read once here; ``jwt.decode`` checks the rest)."""
    segment, _, rest = token.partition(".")
    if rest.count(".") != 1:
        raise InvalidIdToken(reason="not a JWT")
    try:  # base64 tolerates more padding than a segment needs, never less
        header = loads(base64.urlsafe_b64decode(segment + "=="))
    except (ValueError, UnicodeError):
        raise InvalidIdToken(reason="not a JWT") from None
    if not isinstance(header, dict):
        raise InvalidIdToken(reason="not a JWT")
    return header


def _fits(jwk: dict[str, Any], alg: str) -> bool:
    """Whether the key ``jwk`` may verify ``alg``: its own ``alg`` when it names one, else its
    key type (and curve)."""
    if "alg" in jwk:
        return bool(jwk["alg"] == alg)
    kty, curve = _KEY_TYPES[alg]
    return bool(jwk.get("kty") == kty and (curve is None or jwk.get("crv") == curve))


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The principal an id_token's verified claims describe."""

    def text(name: str) -> str:
        value = claims.get(name)
        if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
            raise InvalidIdToken(reason=f"claim {name!r} missing or malformed")
        return value

    def when(name: str) -> datetime:
        value = claims.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidIdToken(reason=f"claim {name!r} missing or malformed")
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise InvalidIdToken(reason=f"claim {name!r} out of range") from None

    user_verified = claims.get("pk:uv", False)
    if not isinstance(user_verified, bool):
        raise InvalidIdToken(reason="claim 'pk:uv' malformed")
    return Principal(
        id=text("jti"),
        authenticator_id=text("a:id"),
        authenticator_type=text("a:typ"),
        user_id=text("sub"),
        created_at=when("iat"),
        expires_at=when("exp"),
        passkey=PasskeyDetails(user_verified=user_verified, verified=True),
        raw=dict(claims),
    )
