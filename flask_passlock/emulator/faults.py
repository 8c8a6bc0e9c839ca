"""Failures a test injects in place of the emulator's next REST answers."""

from __future__ import annotations

import json
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

    @classmethod
    def error(
        cls, tag: str, status: int | None = None, message: str | None = None, **fields: Any
    ) -> Fault:
        """A tagged JSON error as Passlock sends it, e.g.
        ``Fault.error("@error/ChallengeRateLimited", 429, retryAfterSeconds=30)``; the status
        and message default to the emulator's own for ``tag``."""
        body = json.dumps(error_body(tag, message, **fields)).encode()
        return cls(error_status(tag) if status is None else status, body, "application/json")
