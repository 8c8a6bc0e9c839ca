"""A development outbox: where an app sends its emails (challenge codes) when offline."""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from .errors import bad_request

#: Messages kept; the oldest are dropped past this.
OUTBOX_SIZE = 500
MAX_FIELD = 100_000


@dataclass(frozen=True)
class OutboxMessage:
    """One email an app sent to the emulator's outbox (``sent_at``: epoch seconds)."""

    id: str
    tenancy_id: str
    to: str
    subject: str
    text: str
    html: str | None
    sent_at: float

    def as_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "_tag": "OutboxMessage",
            "id": self.id,
            "to": self.to,
            "subject": self.subject,
            "text": self.text,
            "sentAt": int(self.sent_at * 1000),
        }
        if self.html is not None:
            record["html"] = self.html
        return record


class Outbox:
    """The messages, oldest first. Not thread-safe: the backend holds its lock."""

    def __init__(self) -> None:
        self._messages: list[OutboxMessage] = []

    def send(
        self, tenancy: str, *, to: Any, subject: Any, text: Any, html: Any = None
    ) -> OutboxMessage:
        """Store a message; :class:`~.errors.ApiError` (``@error/BadRequest``) when a field is
        missing, not a string, or too long."""
        for name, value in (("to", to), ("subject", subject), ("text", text)):
            if not isinstance(value, str) or not value or len(value) > MAX_FIELD:
                raise bad_request(f"{name} must be a non-empty string")
        if html is not None and (not isinstance(html, str) or len(html) > MAX_FIELD):
            raise bad_request("html must be a string")
        message = OutboxMessage(
            secrets.token_urlsafe(9), tenancy, to, subject, text, html, time.time()
        )
        self._messages.append(message)
        del self._messages[:-OUTBOX_SIZE]
        return message

    def all(self) -> list[OutboxMessage]:
        return list(self._messages)

    def last(self, to: str | None = None) -> OutboxMessage | None:
        for message in reversed(self._messages):
            if to is None or message.to.lower() == to.lower():
                return message
        return None

    def clear(self) -> None:
        self._messages.clear()

    def dump(self) -> list[dict[str, Any]]:
        return [asdict(m) for m in self._messages]

    def load(self, data: list[dict[str, Any]]) -> None:
        self._messages = [OutboxMessage(**m) for m in data]
