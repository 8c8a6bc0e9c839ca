"""A typed client for Passlock's REST API, usable without Flask.

>>> client = PasslockClient(tenancy_id="t", api_key="secret")
>>> principal = client.exchange_code(code)        # doctest: +SKIP
>>> principal.authenticator_id                    # doctest: +SKIP

One pooled :class:`requests.Session` per client (keep-alive, so a TLS handshake is paid once),
connect/read timeouts on every call, and one exception class per kind of failure. A code
exchange is never retried: codes are single-use.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any, Union
from urllib.parse import quote, urlsplit

import requests

from . import __version__
from .exceptions import (
    Forbidden,
    InvalidCode,
    MalformedResponse,
    NotFound,
    PasslockAPIError,
    PasslockError,
    PassLockUnavailable,
    PasslockUnavailable,
)
from .principal import PasskeyDetails, Principal

__all__ = [
    "PasslockClient",
    "Principal",
    "PasskeyDetails",
    "PasslockError",
    "PasslockAPIError",
    "InvalidCode",
    "Forbidden",
    "NotFound",
    "PassLockUnavailable",
    "PasslockUnavailable",
    "MalformedResponse",
    "validate_code",
    "MAX_CODE_LENGTH",
]

#: A ``(connect, read)`` pair of seconds, or one number for both.
Timeout = Union[float, "tuple[float, float]"]

#: Longest code accepted; Passlock's codes are far shorter.
MAX_CODE_LENGTH = 512
#: Longest answer body read from Passlock, in bytes.
MAX_RESPONSE_BYTES = 1024 * 1024

_CODE_RE = re.compile(r"[A-Za-z0-9._~-]+")
_ID_RE = re.compile(r"[A-Za-z0-9._~-]{1,512}")


_SECRET_PATH_RE = re.compile(r"(/principal/)[^/?#\s\"]+")


class RedactCodes(logging.Filter):
    """Masks codes in the URLs that urllib3 logs at DEBUG (``/principal/{code}``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_PATH_RE.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str) and "/principal/" in record.msg:
            record.msg = _SECRET_PATH_RE.sub(r"\1[redacted]", record.msg)
        return True


def _install_log_redaction() -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, RedactCodes) for f in logger.filters):
        logger.addFilter(RedactCodes())


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


def _path_segment(value: str, what: str) -> str:
    if not _ID_RE.fullmatch(value) or set(value) == {"."}:
        raise ValueError(f"{what} is not a valid Passlock identifier.")
    return quote(value, safe="")


class PasslockClient:
    """Talks to Passlock's REST API for one tenancy.

    :param tenancy_id: the tenancy ID from the Passlock console.
    :param api_key: the tenancy's API key; never logged, shown or put in an exception.
    :param endpoint: base URL of the API; paths are resolved against its origin.
    :param timeout: seconds, or a ``(connect, read)`` pair.
    :param session: a :class:`requests.Session` to use instead of a new one.
    """

    def __init__(
        self,
        tenancy_id: str,
        api_key: str,
        *,
        endpoint: str = "https://api.passlock.dev",
        timeout: Timeout = (3.05, 10.0),
        session: requests.Session | None = None,
    ) -> None:
        if not tenancy_id or not api_key:
            raise ValueError("PasslockClient needs a tenancy_id and an api_key.")
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"Passlock endpoint must be an http(s) URL, got {endpoint!r}.")
        self.tenancy_id = tenancy_id
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.timeout = timeout
        self._tenancy_segment = _path_segment(tenancy_id, "The tenancy ID")
        self._api_key = api_key
        _install_log_redaction()
        if session is None:
            session = requests.Session()
            # requests re-reads proxy and CA settings from the environment on every call
            # (most of its per-request cost on a fast link); read them once, now.
            env = session.merge_environment_settings(self.origin, {}, None, None, None)
            session.trust_env = False
            session.proxies.update(env.get("proxies") or {})
            session.verify = env.get("verify", True)
        self.session = session
        self.session.headers.setdefault("User-Agent", f"flask-passlock/{__version__}")

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

    # -- API calls --------------------------------------------------------------------------

    def exchange_code(self, code: str) -> Principal:
        """Exchange a code from ``registerPasskey``/``authenticatePasskey`` for its principal.

        :raises InvalidCode: malformed, unknown, expired or already used code.
        :raises Forbidden: the API key or tenancy ID was refused.
        :raises PassLockUnavailable: Passlock could not be reached or answered with an error.
        :raises MalformedResponse: the answer is JSON but not an ExtendedPrincipal.
        """
        segment = quote(validate_code(code), safe="")
        data = self._request("GET", f"principal/{segment}")
        return Principal.from_json(data)

    def get_passkey(self, passkey_id: str) -> dict[str, Any]:
        """Return Passlock's Passkey record; :class:`NotFound` if there is none."""
        return self._passkey_call("GET", passkey_id)

    def delete_passkey(self, passkey_id: str) -> dict[str, Any]:
        """Delete a passkey at Passlock; returns the deleted record."""
        return self._passkey_call("DELETE", passkey_id)

    def update_passkey(
        self, passkey_id: str, *, user_id: str | None = None, username: str | None = None
    ) -> dict[str, Any]:
        """Set the Passlock ``userId`` and/or ``username`` of a passkey."""
        body = {k: v for k, v in (("userId", user_id), ("username", username)) if v is not None}
        return self._passkey_call("PATCH", passkey_id, body)

    def list_passkeys(self, cursor: str | None = None) -> dict[str, Any]:
        """One page of the tenancy's passkeys: ``{"records": [...], "cursor": next or None}``."""
        path = "passkeys/" + (f"?cursor={quote(cursor, safe='')}" if cursor else "")
        data = self._request("GET", path)
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            raise MalformedResponse(reason="Passlock's answer is not a passkey list.")
        return data

    # -- plumbing ---------------------------------------------------------------------------

    def _passkey_call(
        self, method: str, passkey_id: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            segment = _path_segment(passkey_id, "The passkey ID")
        except ValueError:
            raise NotFound() from None
        data = self._request(method, f"passkeys/{segment}", body)
        if not isinstance(data, dict) or data.get("_tag") != "Passkey":
            raise MalformedResponse(reason="Passlock's answer is not a Passkey record.")
        return data

    def _request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        url = f"{self.origin}/{self._tenancy_segment}/{path}"
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                json=body,
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
            )
            content = _read_limited(response)
        except requests.Timeout:
            raise PassLockUnavailable(reason="no answer in time") from None
        except requests.RequestException:
            raise PassLockUnavailable(reason="could not be reached") from None
        return _decode(response.status_code, content)


def _read_limited(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            response.close()
            raise PassLockUnavailable(reason="oversized answer")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(status: int, content: bytes) -> Any:

    try:
        data = json.loads(content)
    except ValueError:
        raise PassLockUnavailable(reason=f"HTTP {status} without JSON") from None
    tag = data.get("_tag") if isinstance(data, dict) else None
    if tag == "@error/InvalidCode":
        raise InvalidCode()
    if tag == "@error/Forbidden":
        raise Forbidden()
    if tag == "@error/NotFound":
        raise NotFound()
    if not 200 <= status < 300:
        raise PassLockUnavailable(reason=f"HTTP {status}")
    if isinstance(tag, str) and tag.startswith("@error/"):
        raise PassLockUnavailable(reason="unexpected error tag")
    return data
