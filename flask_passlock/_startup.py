"""What :meth:`Passlock.init_app <flask_passlock.Passlock.init_app>` does with the config:
seed every key, refuse what cannot work (naming the key), and build the per-app objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from . import config as cfg
from . import mail
from ._transport import loopback, parse_timeout
from .client import PasslockClient
from .state import PasslockState
from .store import SQLAlchemyStore
from .tokens import IdTokenVerifier


def read_config(app: Flask) -> str:
    """Seed every ``PASSLOCK_*`` key with its default and check them; returns the URL prefix.

    :raises RuntimeError: a key is missing, empty or invalid (the message names it).
    """
    config = app.config
    for key, value in cfg.DEFAULTS.items():
        config.setdefault(key, value)
    for key in (cfg.TENANCY_ID, cfg.API_KEY):
        if not isinstance(config.get(key), str) or not config[key].strip():
            raise RuntimeError(
                f"Flask-Passlock needs app.config[{key!r}] (from your Passlock console); "
                "it is missing or empty."
            )
    check_endpoint(config[cfg.ENDPOINT])
    prefix = config[cfg.URL_PREFIX] or ""
    if prefix and not prefix.startswith("/"):
        raise RuntimeError(f"{cfg.URL_PREFIX} must start with '/', got {prefix!r}.")
    return str(prefix).rstrip("/")


def build_state(
    app: Flask,
    extension: Any,
    store: SQLAlchemyStore | None,
    send_email: Callable[..., Any] | None,
) -> PasslockState:
    """The client, verifier, rate limiter and mailer of ``app``, from its (checked) config."""
    config = app.config
    try:
        client = PasslockClient(
            config[cfg.TENANCY_ID].strip(),
            config[cfg.API_KEY].strip(),
            endpoint=config[cfg.ENDPOINT],
            timeout=parse_timeout(config[cfg.TIMEOUT]),
        )
    except ValueError as exc:
        raise RuntimeError(f"Flask-Passlock configuration ({cfg.TIMEOUT}?): {exc}") from None
    state = PasslockState(extension, client, store)
    state.recovery = mail.check(app, client, send_email, has_store=store is not None)
    if config[cfg.VERIFY_ID_TOKEN]:
        state.verifier = make_verifier(app, client)
    if config[cfg.RATE_LIMITS]:
        from .ratelimit import RateLimiter

        storage = config[cfg.RATE_LIMIT_STORAGE_URI] or config.get("RATELIMIT_STORAGE_URI")
        state.rate_limiter = RateLimiter(config[cfg.RATE_LIMITS], storage or "memory://")
    return state


def check_endpoint(endpoint: object) -> None:
    """``https``, or ``http`` to a loopback host only (the emulator): the API key must never
    cross a network in clear text."""
    try:
        parts = urlsplit(str(endpoint))
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise RuntimeError(f"{cfg.ENDPOINT} must be an https:// URL, got {endpoint!r}.")
    if parts.scheme == "http" and not loopback(host):
        raise RuntimeError(
            f"{cfg.ENDPOINT} must use https:// (the API key would cross the network in clear "
            f"text); plain http:// is only allowed for a loopback host. Got {endpoint!r}."
        )


def make_verifier(app: Flask, client: PasslockClient) -> IdTokenVerifier:
    """The id_token verifier of ``app``'s tenancy; its key set comes through ``client``."""
    config = app.config
    jwks_url = client.jwks_url
    try:
        return IdTokenVerifier(
            lambda: client.fetch("GET", jwks_url, auth=False),
            client.tenancy_id,
            issuer=config[cfg.ID_TOKEN_ISSUER],
            algorithms=tuple(config[cfg.ID_TOKEN_ALGORITHMS]),
            leeway=float(config[cfg.ID_TOKEN_LEEWAY]),
            min_refresh=float(config[cfg.JWKS_MIN_REFRESH]),
        )
    except (ValueError, TypeError) as exc:
        raise RuntimeError(f"{cfg.ID_TOKEN_ALGORITHMS} / id_token settings: {exc}") from None
