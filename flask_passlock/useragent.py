"""A name for a new passkey when Passlock gives none: the browser and system it was made on
("Chrome on Linux", "Safari on iPhone"), read from the request's ``User-Agent``."""

from __future__ import annotations

import re

#: Browsers, most specific first (Edge and Opera also say "Chrome", Chrome also "Safari").
_BROWSERS = (
    ("Edg", "Edge"),
    ("EdgiOS", "Edge"),
    ("OPR", "Opera"),
    ("SamsungBrowser", "Samsung Internet"),
    ("Firefox", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("HeadlessChrome", "Chrome"),
    ("Chromium", "Chromium"),
    ("Chrome", "Chrome"),
    ("Safari", "Safari"),
)

_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("CrOS", "ChromeOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)

_TOKEN = re.compile(r"([A-Za-z]+)/[\d.]+")


def describe(user_agent: str | None) -> str | None:
    """``"<browser> on <system>"`` (or either alone) for a User-Agent, or ``None``."""
    if not user_agent:
        return None
    products = set(_TOKEN.findall(user_agent[:512]))
    browser = next((name for token, name in _BROWSERS if token in products), None)
    system = next((name for token, name in _SYSTEMS if token in user_agent[:512]), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system
