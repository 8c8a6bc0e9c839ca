"""Shared pieces of the recovery tests: an app whose users have an email address, unique
addresses (the session's emulator rate-limits codes per address), and the code of the last
email sent to an address."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask_passlock import freshness

from .helpers import AppParts, app_parts

_ADDRESSES = itertools.count()
CODE = re.compile(r"\b(\d{6})\b")


def new_address(name: str = "user") -> str:
    return f"{name}-{next(_ADDRESSES)}@example.com"


@contextmanager
def recovery_app(emulator: Any, database_url: str, **config: Any) -> Iterator[AppParts]:
    """A test app with ``PASSLOCK_RECOVERY`` on (and ``config``), users with an email."""
    settings = {"PASSLOCK_RECOVERY": True, **config}
    with app_parts(emulator, database_url, with_email=True, **settings) as built:
        yield built


def code_sent_to(emulator: Any, address: str) -> str:
    """The one-time code in the newest email to ``address`` (read from the outbox)."""
    message = emulator.last_email(to=address)
    assert message is not None, f"no email to {address}"
    found = CODE.search(message.text)
    assert found, message.text
    return found.group(1)


def other_than(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def signed_in_user(client: Any) -> str | None:
    with client.session_transaction() as session:
        value = session.get("_user_id")
        return str(value) if value is not None else None


def verified_how(client: Any) -> str | None:
    with client.session_transaction() as session:
        record = session.get(freshness.VERIFIED)
        return record.get("how") if isinstance(record, dict) else None
