"""Mailbox challenges (email one-time codes) as typed values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._json import epoch_ms, mapping, text
from .exceptions import MalformedResponse


@dataclass(frozen=True)
class Challenge:
    """A mailbox challenge: Passlock emailed (or rather, rendered for you to email) a one-time
    code to :attr:`email`.

    :attr:`secret`, :attr:`code` and the message are only present on a challenge just
    created; they never appear in ``repr()``. Keep the secret server-side (with the id) and
    send the message to the user; verify with both and the code the user types.
    """

    challenge_id: str
    purpose: str
    email: str
    created_at: datetime
    expires_at: datetime
    user_id: str | None = None
    metadata: Mapping[str, Any] | None = None
    secret: str | None = field(default=None, repr=False)
    code: str | None = field(default=None, repr=False)
    message_html: str | None = field(default=None, repr=False)
    message_text: str | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, data: object, *, created: bool = False) -> Challenge:
        """Parse a ``Challenge`` (or, with ``created``, the challenge of ``ChallengeCreated``);
        raise :class:`~flask_passlock.MalformedResponse` if it has the wrong shape."""
        data = mapping(data, "challenge")
        metadata = data.get("metadata")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise MalformedResponse(reason="Passlock's challenge has non-object metadata.")
        user_id = data.get("userId")
        extra: dict[str, Any] = {}
        if created:
            message = mapping(data.get("message"), "message")
            extra = {
                "secret": text(data, "secret", None),
                "code": text(data, "code"),
                "message_html": text(message, "html", None),
                "message_text": text(message, "text", None),
            }
        return cls(
            challenge_id=text(data, "challengeId"),
            purpose=text(data, "purpose"),
            email=text(data, "email"),
            created_at=epoch_ms(data, "createdAt"),
            expires_at=epoch_ms(data, "expiresAt"),
            user_id=user_id if isinstance(user_id, str) else None,
            metadata=metadata,
            **extra,
        )
