"""Safe ``next`` redirects: paths on this site only (no open redirects)."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import request

#: Longest ``next`` accepted.
MAX_NEXT_LENGTH = 2048


def safe_next(target: object) -> str | None:
    """Return ``target`` if it is a safe place to send the user after sign-in, else ``None``.

    Safe means a path on this site: it starts with a single ``/`` (never ``//`` or ``///``,
    which browsers read as another host), has no backslash, no whitespace, control, format or
    surrogate character, and parses as a URL. An absolute URL is accepted only when its scheme
    and host are the request's own, and is reduced to its path, query and fragment.
    """
    if not isinstance(target, str) or len(target) > MAX_NEXT_LENGTH:
        return None
    # Categories C (controls such as DEL, format, surrogate...) and Z (spaces, separators)
    # hold everything up to and including " ".
    if "\\" in target or any(unicodedata.category(ch)[0] in ("C", "Z") for ch in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. "http://[" (an unclosed IPv6 literal)
        return None
    if parts.scheme:  # a host without a scheme starts with "//": refused below
        if parts.scheme != request.scheme or parts.netloc != request.host:
            return None
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        if parts.fragment:
            target += "#" + parts.fragment
    if not target.startswith("/") or target.startswith("//"):
        return None
    return target
