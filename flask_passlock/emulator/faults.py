"""Failures a test injects in place of the emulator's next REST answers."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from .errors import error_body, error_status


@dataclass
class Fault:
    """A failure the emulator answers with instead of the next REST call(s).

    With a ``status`` or a ``body`` it replaces the answer; with neither it shapes the
    emulator's real answer (delayed, dripped, with extra headers): ``Fault(drip=0.5)``.

    :param status: HTTP status to answer with (500 when only ``body`` is given).
    :param body: raw body bytes.
    :param content_type: ``Content-Type`` of a replaced answer.
    :param delay: seconds to wait first (past the client's read timeout, say).
    :param reset: drop the connection (TCP RST) instead of answering; the call is not served.
    :param headers: extra headers, e.g. ``{"Retry-After": "30"}``.
    :param drip: send the body one byte at a time, this many seconds apart (to test a
        client's total deadline, which a per-read timeout never trips).
    """

    status: int | None = None
    body: bytes | None = None
    content_type: str = "text/html; charset=utf-8"
    delay: float = 0.0
    reset: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    drip: float = 0.0

    @property
    def replaces_answer(self) -> bool:
        """Whether the call is answered by the fault alone (not served by the emulator)."""
        return self.reset or self.status is not None or self.body is not None

    def as_json(self) -> dict[str, Any]:
        """The fault as JSON, for ``POST /{tenancy}/_emulator/faults`` (an emulator running in
        another process); the body is gzipped, then base64 (a 3 MiB answer travels small)."""
        body = None if self.body is None else base64.b64encode(gzip.compress(self.body)).decode()
        return {
            "status": self.status,
            "body_gzip": body,
            "content_type": self.content_type,
            "delay": self.delay,
            "reset": self.reset,
            "headers": dict(self.headers),
            "drip": self.drip,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """The fault :meth:`as_json` describes (anything malformed: no such field)."""
        body = data.get("body_gzip")
        headers = data.get("headers")

        def number(name: str) -> float:
            value = data.get(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                return 0.0
            return float(value)

        status = data.get("status")
        return cls(
            status=status if isinstance(status, int) and 100 <= status <= 599 else None,
            body=_gunzip(base64.b64decode(body)) if isinstance(body, str) else None,
            content_type=str(data.get("content_type") or "text/html; charset=utf-8"),
            delay=number("delay"),
            reset=data.get("reset") is True,
            headers={str(k): str(v) for k, v in headers.items()}
            if isinstance(headers, dict)
            else {},
            drip=number("drip"),
        )

    @classmethod
    def error(
        cls, tag: str, status: int | None = None, message: str | None = None, **fields: Any
    ) -> Fault:
        """A tagged JSON error as Passlock sends it, e.g.
        ``Fault.error("@error/ChallengeRateLimited", 429, retryAfterSeconds=30)``; the status
        and message default to the emulator's own for ``tag``."""
        body = json.dumps(error_body(tag, message, **fields)).encode()
        return cls(error_status(tag) if status is None else status, body, "application/json")


#: Largest fault body accepted over HTTP, once unzipped.
MAX_FAULT_BODY = 16 * 1024 * 1024


def _gunzip(data: bytes) -> bytes:
    unzip = zlib.decompressobj(wbits=31)
    body = unzip.decompress(data, MAX_FAULT_BODY)
    if unzip.unconsumed_tail:
        raise ValueError(f"a fault body is at most {MAX_FAULT_BODY} bytes")
    return body
