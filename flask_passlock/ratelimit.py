"""Rate limits for the routes that take a username, a code or an email (``PASSLOCK_RATE_LIMITS``).

Off by default. Built on the ``limits`` package that Flask-Limiter brings
(``pip install Flask-Limiter``), with its storage URIs: ``memory://`` counts per process only;
a deployment with several workers or machines shares a ``redis://`` or ``memcached://`` store
(``PASSLOCK_RATE_LIMIT_STORAGE_URI``, else the app's ``RATELIMIT_STORAGE_URI``). Requests are
counted per client address (``request.remote_addr``: behind a proxy, use Werkzeug's
``ProxyFix``) and per group:

``options``
    ``POST /passkey/login/options`` (it tells whether a username has passkeys).
``ceremony``
    ``POST`` to register, login, signup and verify.
``recover``
    the routes that email a code or check one: account recovery and sign-up's email check.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from flask import request

from .exceptions import RateLimited

#: The groups a limit can be set for.
GROUPS = ("options", "ceremony", "recover")


class RateLimiter:
    """Counts requests per group and client; :meth:`hit` refuses those over the limit."""

    def __init__(self, limits: str | Mapping[str, str], storage_uri: str = "memory://") -> None:
        try:
            from limits import parse_many
            from limits.storage import storage_from_string
            from limits.strategies import MovingWindowRateLimiter
        except ImportError:
            raise RuntimeError(
                "PASSLOCK_RATE_LIMITS needs Flask-Limiter: pip install Flask-Limiter"
            ) from None
        if isinstance(limits, str):
            limits = dict.fromkeys(GROUPS, limits)
        unknown = set(limits) - set(GROUPS)
        if unknown:
            raise RuntimeError(
                f"PASSLOCK_RATE_LIMITS: unknown group(s) {sorted(unknown)}; use {list(GROUPS)}."
            )
        try:
            self.limits = {group: parse_many(value) for group, value in limits.items() if value}
            self._strategy = MovingWindowRateLimiter(storage_from_string(storage_uri))
        except ValueError as error:
            raise RuntimeError(f"PASSLOCK_RATE_LIMITS: {error}") from None

    def hit(self, group: str) -> None:
        """Count this request in ``group``; :class:`RateLimited` when over a limit."""
        client = request.remote_addr or "unknown"
        for item in self.limits.get(group, ()):
            if not self._strategy.hit(item, "passlock", group, client):
                stats: Any = self._strategy.get_window_stats(item, "passlock", group, client)
                raise RateLimited(
                    retry_after=int(stats.reset_time - time.time()) + 1,
                    reason=f"over {item} for {group}",
                )
