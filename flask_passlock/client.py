"""A typed client for Passlock's REST API, usable without Flask.

>>> client = PasslockClient(tenancy_id="t", api_key="secret")
>>> principal = client.exchange_code(code)        # doctest: +SKIP
>>> principal.authenticator_id                    # doctest: +SKIP

One pooled :class:`requests.Session` per client (keep-alive, so a TLS handshake is paid once),
a total deadline on every call (connecting plus the whole answer), answers capped at 1 MiB,
no redirects followed, and one exception class per kind of failure (all in
:mod:`flask_passlock.exceptions`). A call is sent a second time only when it provably never
reached Passlock: the pooled connection it went out on had been closed by the server, and not
a byte of an answer came back. Anything else (a code exchange above all: codes are single-use)
is never retried.

Secrets stay out of logs: the API key travels only in the ``Authorization`` header, codes are
masked in the URLs urllib3 logs, and challenge secrets and one-time codes travel only in
request bodies, which nothing logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from . import __version__
from ._json import loads
from ._transport import (
    Deadline,
    DeadlineAdapter,
    install_log_redaction,
    never_reached_server,
    parse_timeout,
)
from .challenge import Challenge
from .exceptions import (
    ChallengeAttemptsExceeded,
    ChallengeExpired,
    ChallengeRateLimited,
    Forbidden,
    InvalidChallenge,
    InvalidChallengeCode,
    InvalidCode,
    MalformedResponse,
    NotFound,
    PasslockAPIError,
    PasslockUnavailable,
)
from .principal import Principal

__all__ = ["PasslockClient", "validate_code", "MAX_CODE_LENGTH", "DEFAULT_TIMEOUT"]

#: Seconds a call may take in all (connecting plus the whole answer).
DEFAULT_TIMEOUT = 5.0
#: Longest code accepted; Passlock's codes are far shorter.
MAX_CODE_LENGTH = 512
#: Longest answer body read from Passlock, in bytes.
MAX_RESPONSE_BYTES = 1024 * 1024

_CODE_RE = re.compile(r"[A-Za-z0-9._~-]+")
_ID_RE = re.compile(r"[A-Za-z0-9._~-]{1,512}")

#: Error tags Passlock answers with, and the exception each becomes.
_ERRORS: dict[str, type[PasslockAPIError]] = {
    "@error/InvalidCode": InvalidCode,
    "@error/Forbidden": Forbidden,
    "@error/Unauthorized": Forbidden,
    "@error/NotFound": NotFound,
    "@error/InvalidChallenge": InvalidChallenge,
    "@error/InvalidChallengeCode": InvalidChallengeCode,
    "@error/ChallengeExpired": ChallengeExpired,
    "@error/ChallengeAttemptsExceeded": ChallengeAttemptsExceeded,
}


def validate_code(code: object) -> str:
    """Return ``code`` if it is shaped like a Passlock code, else raise :class:`InvalidCode`.

    A code is 1 to :data:`MAX_CODE_LENGTH` URL-safe characters (letters, digits, ``-._~``),
    and not a dot-segment such as ``..``: it can never change the path it is put in.
    """
    if not isinstance(code, str) or not code:
        raise InvalidCode(reason="no code")
    if len(code) > MAX_CODE_LENGTH or not _CODE_RE.fullmatch(code) or set(code) == {"."}:
        raise InvalidCode(reason="malformed code")
    return code


def _segment(value: object) -> str:
    """A Passlock id as one URL path segment; :class:`NotFound` when it cannot be one.

    Only unreserved characters pass, so the id needs no percent-encoding."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value) or set(value) == {"."}:
        raise NotFound(reason="not a Passlock identifier")
    return value


class PasslockClient:
    """Talks to Passlock's REST API for one tenancy.

    :param tenancy_id: the tenancy ID from the Passlock console.
    :param api_key: the tenancy's API key; never logged, shown or put in an exception.
    :param endpoint: base URL of the API; paths are resolved against its origin.
    :param timeout: total seconds per call (connect plus the whole answer), or a
        ``(connect, total)`` pair.
    :param session: a :class:`requests.Session` to use instead of a new one.
    """

    def __init__(
        self,
        tenancy_id: str,
        api_key: str,
        *,
        endpoint: str = "https://api.passlock.dev",
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        if not tenancy_id or not api_key:
            raise ValueError("PasslockClient needs a tenancy_id and an api_key.")
        refused = ValueError(f"Passlock endpoint must be an http(s) URL, got {endpoint!r}.")
        try:
            parts = urlsplit(endpoint)
            hostname = parts.hostname
        except ValueError:
            raise refused from None
        if parts.scheme not in ("http", "https") or not hostname:
            raise refused
        self.tenancy_id = tenancy_id
        self.origin = f"{parts.scheme}://{parts.netloc}"
        #: ``(connect, total)`` seconds.
        self.timeout = parse_timeout(timeout)
        try:
            self._tenancy_segment = _segment(tenancy_id)
        except NotFound:
            raise ValueError("The tenancy ID is not a valid Passlock identifier.") from None
        self._api_key = api_key
        install_log_redaction()
        if session is None:
            session = requests.Session()
            # requests re-reads proxy and CA settings from the environment on every call
            # (most of its per-request cost on a fast link); read them once, now.
            env = session.merge_environment_settings(self.origin, {}, None, None, None)
            session.trust_env = False
            session.proxies.update(env["proxies"])
            session.verify = env["verify"]
            # (a session given keeps its own User-Agent)
            session.headers["User-Agent"] = f"flask-passlock/{__version__}"
        for prefix in ("http://", "https://"):
            session.mount(prefix, DeadlineAdapter())
        self.session = session

    def __repr__(self) -> str:
        return f"<PasslockClient tenancy_id={self.tenancy_id!r} origin={self.origin!r}>"

    @property
    def jwks_url(self) -> str:
        """Where Passlock publishes the keys that sign id_tokens."""
        return f"{self.origin}/.well-known/jwks.json"

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def __enter__(self) -> PasslockClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- principals -------------------------------------------------------------------------

    def exchange_code(self, code: str, *, user_id: str | None = None) -> Principal:
        """Exchange a code from ``registerPasskey``/``authenticatePasskey`` for its principal.

        :param user_id: also assign this Passlock user id to the passkey (costs nothing more:
            the same single call, sent as ``POST`` with ``{"userId"}``).
        :raises InvalidCode: malformed, unknown, expired or already used code.
        :raises Forbidden: the API key or tenancy ID was refused.
        :raises PasslockUnavailable: Passlock could not be reached in time or answered with
            an error.
        :raises MalformedResponse: the answer is JSON but not an ExtendedPrincipal.
        """
        path = f"principal/{validate_code(code)}"  # unreserved characters only: nothing to encode
        if user_id is None:
            return Principal.from_json(self._request("GET", path))
        return Principal.from_json(self._request("POST", path, {"userId": str(user_id)}))

    # -- passkeys ---------------------------------------------------------------------------

    def get_passkey(self, passkey_id: str) -> dict[str, Any]:
        """Passlock's Passkey record; :class:`NotFound` if there is none."""
        return self._tagged("GET", f"passkeys/{_segment(passkey_id)}", "Passkey")

    def delete_passkey(self, passkey_id: str) -> dict[str, Any]:
        """Delete a passkey at Passlock; returns the deleted record."""
        return self._tagged("DELETE", f"passkeys/{_segment(passkey_id)}", "Passkey")

    def update_passkey(
        self, passkey_id: str, *, user_id: str | None = None, username: str | None = None
    ) -> dict[str, Any]:
        """Set the Passlock ``userId`` and/or ``username`` of a passkey."""
        body = {k: v for k, v in (("userId", user_id), ("username", username)) if v is not None}
        return self._tagged("PATCH", f"passkeys/{_segment(passkey_id)}", "Passkey", body)

    def list_passkeys(self, cursor: str | None = None) -> dict[str, Any]:
        """One page of the tenancy's passkeys: ``{"records": [...], "cursor": next or None}``."""
        path = "passkeys/" + (f"?cursor={quote(cursor, safe='')}" if cursor else "")
        data = self._tagged("GET", path, "FindAllPasskeys")
        next_cursor = data.get("cursor")
        valid_cursor = next_cursor is None or isinstance(next_cursor, str)
        if not isinstance(data.get("records"), list) or not valid_cursor:
            raise MalformedResponse(reason="Passlock's answer is not a passkey list.")
        return data

    def iter_passkeys(self) -> Iterator[dict[str, Any]]:
        """Every passkey summary of the tenancy, fetching page after page."""
        page = self.list_passkeys()
        seen: set[str] = set()
        while True:
            yield from page["records"]
            cursor = page.get("cursor")
            if not cursor or cursor in seen:
                return
            seen.add(cursor)
            page = self.list_passkeys(cursor)

    def update_user_passkeys(self, user_id: str, username: str) -> list[dict[str, Any]]:
        """Set the username of every passkey whose Passlock user id is ``user_id``; returns
        the updated records (what the browser needs to tell the devices)."""
        path = f"users/{_segment(user_id)}/passkeys/"
        body = {"userId": user_id, "username": username}
        return self._records("PATCH", path, "UpdatedPasskeys", "updated", body)

    def delete_user_passkeys(self, user_id: str) -> list[dict[str, Any]]:
        """Delete every passkey whose Passlock user id is ``user_id``; returns the deleted
        records."""
        path = f"users/{_segment(user_id)}/passkeys/"
        return self._records("DELETE", path, "DeletedPasskeys", "deleted", {"userId": user_id})

    # -- mailbox challenges (email one-time codes) ------------------------------------------

    def create_challenge(
        self,
        email: str,
        purpose: str,
        *,
        user_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        invalidate_others: bool = True,
    ) -> Challenge:
        """Create a one-time code for ``email``; the answer holds the rendered message to send
        and the secret to keep server-side.

        :raises ChallengeRateLimited: too many codes for this address (``retry_after`` s).
        """
        body: dict[str, Any] = {"email": email, "purpose": purpose}
        body["invalidateOthers"] = bool(invalidate_others)
        if user_id is not None:
            body["userId"] = str(user_id)
        if metadata is not None:
            body["metadata"] = dict(metadata)
        data = self._tagged("POST", "challenges", "ChallengeCreated", body)
        return Challenge.from_json(data.get("challenge"), created=True)

    def get_challenge(self, challenge_id: str) -> Challenge:
        """The challenge (without secret or code); :class:`NotFound` if there is none."""
        data = self._tagged("GET", f"challenges/{_segment(challenge_id)}", "Challenge")
        return Challenge.from_json(data)

    def verify_challenge(self, challenge_id: str, secret: str, code: str) -> Challenge:
        """Check the code the user typed. Returns the verified challenge; re-check its
        ``purpose`` (and metadata) before acting on it.

        :raises InvalidChallengeCode: wrong code. :raises ChallengeExpired: too late.
        :raises ChallengeAttemptsExceeded: too many wrong codes.
        :raises InvalidChallenge: no such challenge, or the secret does not match.
        """
        body = {"challengeId": challenge_id, "secret": secret, "code": code}
        data = self._tagged("POST", "challenges/verify", "ChallengeVerified", body)
        return Challenge.from_json(data.get("challenge"))

    def delete_challenge(self, challenge_id: str) -> None:
        """Delete a challenge (e.g. once used)."""
        self._tagged("DELETE", f"challenges/{_segment(challenge_id)}", "ChallengeDeleted")

    # -- plumbing ---------------------------------------------------------------------------

    def _tagged(
        self, method: str, path: str, tag: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        data = self._request(method, path, body)
        if not isinstance(data, dict) or data.get("_tag") != tag:
            raise MalformedResponse(reason=f"Passlock's answer is not {tag}.")
        return data

    def _records(
        self, method: str, path: str, tag: str, key: str, body: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        records = self._tagged(method, path, tag, body).get(key)
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise MalformedResponse(reason=f"Passlock's {tag} has no '{key}' list.")
        return records

    def _request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        status, content = self.fetch(method, f"{self.origin}/{self._tenancy_segment}/{path}", body)
        return _decode(status, content)

    def fetch(
        self, method: str, url: str, body: Mapping[str, Any] | None = None, *, auth: bool = True
    ) -> tuple[int, bytes]:
        """One call within the deadline: ``(status, body bytes)``; :class:`PasslockUnavailable`
        when it fails, is too slow or the answer is too large."""
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self._api_key}"
        connect, total = self.timeout
        with Deadline(total) as deadline:
            for first in (True, False):
                try:
                    response = self.session.request(
                        method,
                        url,
                        headers=headers,
                        json=body,
                        timeout=(max(0.001, min(connect, deadline.remaining())), total),
                        stream=True,
                        allow_redirects=False,
                    )
                except requests.RequestException as error:
                    # A socket timeout due at the deadline can beat the watchdog to it.
                    if deadline.expired or deadline.remaining() == 0:
                        raise PasslockUnavailable(reason="deadline passed") from None
                    if first and deadline.reused and never_reached_server(error):
                        continue  # the server had closed this idle connection: send again
                    reason = (
                        "no answer in time"
                        if isinstance(error, requests.Timeout)
                        else ("could not be reached")
                    )
                    raise PasslockUnavailable(reason=reason) from None
                break
            try:
                content = _read_limited(response)
            except requests.RequestException:
                reason = "deadline passed" if deadline.expired else "answer cut off"
                raise PasslockUnavailable(reason=reason) from None
            if deadline.expired:
                raise PasslockUnavailable(reason="deadline passed")
        return response.status_code, content


def _read_limited(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise PasslockUnavailable(reason="oversized answer")
            chunks.append(chunk)
    finally:
        response.close()
    return b"".join(chunks)


def _decode(status: int, content: bytes) -> Any:
    try:
        data = loads(content)
    except ValueError:
        raise PasslockUnavailable(reason=f"HTTP {status} without JSON") from None
    tag = data.get("_tag") if isinstance(data, dict) else None
    if tag == "@error/ChallengeRateLimited":
        retry_after = data.get("retryAfterSeconds")
        valid = isinstance(retry_after, int) and not isinstance(retry_after, bool)
        raise ChallengeRateLimited(retry_after=retry_after if valid else 60)
    error = _ERRORS.get(tag) if isinstance(tag, str) else None
    if error is not None:
        raise error(reason=f"HTTP {status} {tag}")
    if not 200 <= status < 300:
        raise PasslockUnavailable(reason=f"HTTP {status}")
    if isinstance(tag, str) and tag.startswith("@error/"):
        raise PasslockUnavailable(reason="unexpected error tag")
    return data


def __getattr__(name: str) -> Any:
    """``PassLockUnavailable``, the old spelling, still resolves (with a warning)."""
    if name == "PassLockUnavailable":
        import flask_passlock

        return flask_passlock.PassLockUnavailable
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
