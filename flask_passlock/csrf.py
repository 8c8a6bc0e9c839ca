"""Cross-site request protection for the blueprint's POST routes.

Every POST's ``Origin`` header (or, lacking it, ``Referer``) must be the app's own origin or
one listed in ``PASSLOCK_TRUSTED_ORIGINS``, whatever else protects the app: the check runs
under every Flask-WTF setting (enabled, disabled, ``WTF_CSRF_CHECK_DEFAULT = False``,
exempted), so no setting can switch it off. A request with neither header is accepted only
with a JSON body: browsers cannot send one cross-site without a CORS preflight, which this app
does not answer. When Flask-WTF's ``CSRFProtect`` is set up, it checks its token as well (the
JavaScript sends it in ``X-CSRFToken``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request

from . import config as cfg
from .exceptions import CrossSiteRequest


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower-cased; ``None`` for anything else."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 literal)
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins() -> set[str]:
    """The app's own origin and the trusted ones."""
    own = f"{request.scheme}://{request.host}".lower()
    trusted = current_app.config.get(cfg.TRUSTED_ORIGINS) or ()
    if isinstance(trusted, str):
        trusted = [trusted]
    return {own, *(str(o).strip().rstrip("/").lower() for o in trusted)}


def check_same_origin() -> None:
    """Raise :class:`~flask_passlock.exceptions.CrossSiteRequest` unless the current request
    comes from an allowed origin."""
    origin = request.origin
    if origin is not None:
        if origin_of(origin) not in allowed_origins():
            raise CrossSiteRequest(reason="the Origin is not this site")
        return
    referer = request.referrer
    if referer:
        if origin_of(referer) not in allowed_origins():
            raise CrossSiteRequest(reason="the Referer is not this site")
        return
    if not request.is_json:
        raise CrossSiteRequest(reason="no Origin or Referer header, and not JSON")
