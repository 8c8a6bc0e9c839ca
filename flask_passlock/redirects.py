"""Safe ``next`` redirects: same-origin relative paths only (no open redirects)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request


def safe_next(target: object) -> str | None:
    """Return ``target`` if it is a safe place to send the user after sign-in, else ``None``.

    Safe means a path on this site: it starts with a single ``/``, has no scheme or host, no
    backslash, no control or whitespace characters. An absolute URL is accepted only when its
    scheme and host are the request's own, and is reduced to its path.
    """
    if not isinstance(target, str) or not target or len(target) > 2048:
        return None
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme != request.scheme or parts.netloc != request.host:
            return None
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        if parts.fragment:
            target += "#" + parts.fragment
        parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//"):
        return None
    return target
