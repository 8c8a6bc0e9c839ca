"""Cross-site request protection for the blueprint's POST routes.

When Flask-WTF's ``CSRFProtect`` is set up on the app it already checks every POST (our
JavaScript sends its token in the ``X-CSRFToken`` header), so nothing more is done here.
Otherwise the request's ``Origin`` header (or, lacking it, ``Referer``) must be the app's own
origin or one listed in ``PASSLOCK_TRUSTED_ORIGINS``. A request with neither header is
accepted only with a JSON body: browsers cannot send one cross-site without a CORS preflight,
which this app does not answer.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request

from . import config as cfg
from .exceptions import CrossSiteRequest


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins() -> set[str]:
    own = f"{request.scheme}://{request.host}".lower()
    trusted = current_app.config.get(cfg.TRUSTED_ORIGINS) or ()
    if isinstance(trusted, str):
        trusted = [trusted]
    return {own, *(o.rstrip("/").lower() for o in trusted)}


def check_same_origin() -> None:
    """Raise :class:`~flask_passlock.exceptions.CrossSiteRequest` unless the current POST
    comes from an allowed origin (or Flask-WTF's CSRF protection handles it)."""
    if "csrf" in current_app.extensions:
        return
    origin = request.headers.get("Origin")
    if origin is not None:
        if _origin_of(origin) not in allowed_origins():
            raise CrossSiteRequest("Cross-site request refused: the Origin is not this site.")
        return
    referer = request.headers.get("Referer")
    if referer:
        if _origin_of(referer) not in allowed_origins():
            raise CrossSiteRequest("Cross-site request refused: the Referer is not this site.")
        return
    if not request.is_json:
        raise CrossSiteRequest(
            "Cross-site request refused: the request has no Origin or Referer header."
        )
