"""Reading Passlock's JSON answers defensively: every wrong shape is a
:class:`~flask_passlock.MalformedResponse`, never a ``KeyError`` or ``TypeError``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from .exceptions import MalformedResponse

#: Longest identifier (principal id, passkey id, user id) accepted: the columns that store
#: them hold 255 characters.
MAX_ID_LENGTH = 255


def loads(content: bytes | str) -> Any:
    """Parse JSON; ``ValueError`` for anything that is not JSON, nesting too deep included."""
    try:
        return json.loads(content)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def mapping(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedResponse(reason=f"Passlock's answer has no '{name}' object.")
    return value


def text(obj: Mapping[str, Any], key: str, max_length: int | None = MAX_ID_LENGTH) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedResponse(reason=f"Passlock's answer has no '{key}' string.")
    if max_length is not None and len(value) > max_length:
        raise MalformedResponse(reason=f"Passlock's answer has an overlong '{key}'.")
    return value


def optional_text(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise MalformedResponse(reason=f"Passlock's answer has a non-string '{key}'.")
    return value


def boolean(obj: Mapping[str, Any], key: str) -> bool:
    value = obj.get(key)
    if not isinstance(value, bool):
        raise MalformedResponse(reason=f"Passlock's answer has no '{key}' boolean.")
    return value


def epoch_ms(obj: Mapping[str, Any], key: str) -> datetime:
    """A timestamp in epoch milliseconds, as a timezone-aware UTC datetime."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedResponse(reason=f"Passlock's answer has no '{key}' timestamp.")
    try:
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise MalformedResponse(reason=f"Passlock's answer has an out-of-range '{key}'.") from None
