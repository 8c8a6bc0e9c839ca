"""Configuration keys read by :class:`flask_passlock.Passlock`, with their defaults.

:data:`DEFAULTS` is the one literal holding every default; everything else imports it.
Every key is seeded with :meth:`flask.Config.setdefault` in
:meth:`~flask_passlock.Passlock.init_app`, so ``app.config`` always shows the value in use.
"""

from __future__ import annotations

from typing import Any

#: Passlock tenancy ID (required). Public: it is sent to the browser.
TENANCY_ID = "PASSLOCK_TENANCY_ID"

#: Passlock API key (required). Secret: used only for server-to-server calls.
API_KEY = "PASSLOCK_API_KEY"

#: Base URL of the Passlock REST API. Paths are resolved against its origin. Must be
#: ``https`` unless the host is a loopback address (the emulator).
ENDPOINT = "PASSLOCK_ENDPOINT"

#: Endpoint the browser talks to, when it differs from :data:`ENDPOINT` (e.g. behind a proxy).
#: ``None`` means the same as :data:`ENDPOINT`.
BROWSER_ENDPOINT = "PASSLOCK_BROWSER_ENDPOINT"

#: URL of the ES module exporting ``registerPasskey`` and ``authenticatePasskey``
#: (``@passlock/client/safe`` or ``@passlock/browser/safe`` behind a CDN that rewrites bare
#: imports, or your own bundle; the emulator serves a stand-in at ``/client.js``).
CLIENT_URL = "PASSLOCK_CLIENT_URL"

#: Where the ``passlock`` blueprint is mounted.
URL_PREFIX = "PASSLOCK_URL_PREFIX"

#: Total deadline, in seconds, of each call to Passlock: connecting plus the whole answer.
#: A ``(connect, total)`` pair sets the connect timeout apart.
TIMEOUT = "PASSLOCK_TIMEOUT"

#: Extra origins (``scheme://host[:port]``) trusted by the Origin/Referer check of POST
#: routes, besides the app's own. A string or a list of strings.
TRUSTED_ORIGINS = "PASSLOCK_TRUSTED_ORIGINS"

#: Where ``POST /passkey/register`` sends the user after success when the request has no
#: safe ``next``. ``None`` means the passkey list page of the blueprint.
REGISTER_REDIRECT = "PASSLOCK_REGISTER_REDIRECT"

#: Endpoint name (for :func:`flask.url_for`) of the app's sign-in page, used when an
#: anonymous visitor opens a page that needs a signed-in user. ``None``: Flask-Login's
#: ``login_view`` when set, otherwise the blueprint's passkey sign-in page.
LOGIN_VIEW = "PASSLOCK_LOGIN_VIEW"

#: Where a successful sign-in, sign-up or re-verification goes without a safe ``next``.
LOGIN_REDIRECT = "PASSLOCK_LOGIN_REDIRECT"

#: Passed as ``remember=`` to Flask-Login's ``login_user``.
REMEMBER = "PASSLOCK_REMEMBER"

#: Default ``max_age`` (seconds) of :func:`~flask_passlock.fresh_passkey_required`.
FRESH_MAX_AGE = "PASSLOCK_FRESH_MAX_AGE"

#: Accept a ceremony by verifying its ``id_token`` locally with Passlock's JWKS (no call to
#: Passlock) whenever the request carries one. ``False``: always exchange the code.
VERIFY_ID_TOKEN = "PASSLOCK_VERIFY_ID_TOKEN"

#: Signature algorithms accepted for id_tokens (asymmetric only; never ``none`` or HMAC).
ID_TOKEN_ALGORITHMS = "PASSLOCK_ID_TOKEN_ALGORITHMS"

#: Clock skew allowed on ``exp``/``iat``, in seconds.
ID_TOKEN_LEEWAY = "PASSLOCK_ID_TOKEN_LEEWAY"

#: Expected ``iss`` of id_tokens.
ID_TOKEN_ISSUER = "PASSLOCK_ID_TOKEN_ISSUER"

#: Fewest seconds between two JWKS downloads (a failed download included).
JWKS_MIN_REFRESH = "PASSLOCK_JWKS_MIN_REFRESH"

#: Refuse a sign-in whose passkey did not verify the user (PIN, biometrics). Step-up
#: re-verification always requires it.
REQUIRE_USER_VERIFICATION = "PASSLOCK_REQUIRE_USER_VERIFICATION"

#: Replacement sentences for everything a user can read, by key (``"invalid_code"``,
#: ``"js.cancelled"``...; see :mod:`flask_passlock.messages`): the one place to translate
#: them. Values may be lazy strings (Flask-Babel's ``lazy_gettext``). A sentence given by your
#: own hook (``LinkError("...")``) is kept.
MESSAGES = "PASSLOCK_MESSAGES"

#: Template the built-in pages extend; it must have a ``content`` block (and may have
#: ``title``). Set it to your app's layout so the pages look like the rest of your app.
BASE_TEMPLATE = "PASSLOCK_BASE_TEMPLATE"

#: Rate limits (Flask-Limiter strings such as ``"10 per minute"``) for the routes that take
#: a username or a code, by group: ``"options"`` (sign-in by username), ``"ceremony"``
#: (register, login, signup, verify) and ``"recover"`` (the routes that email a code or check
#: one: recovery, and sign-up's email check). ``None`` switches rate limiting off.
RATE_LIMITS = "PASSLOCK_RATE_LIMITS"

#: Flask-Limiter storage for :data:`RATE_LIMITS` (``"redis://..."``, ``"memcached://..."``).
#: ``None``: the app's ``RATELIMIT_STORAGE_URI``, else in memory (one process only).
RATE_LIMIT_STORAGE_URI = "PASSLOCK_RATE_LIMIT_STORAGE_URI"

#: Account recovery by email: ``/passkey/recover`` sends a one-time code (a Passlock mailbox
#: challenge) to the address of the account, and the code signs the user in to create a new
#: passkey. Needs a way to send email (see :mod:`flask_passlock.mail`).
RECOVERY = "PASSLOCK_RECOVERY"

#: Passkey-first sign-up asks for an email address and checks it with a one-time code before
#: the passkey and the account are made, so every account has a way back in.
SIGNUP_VERIFY_EMAIL = "PASSLOCK_SIGNUP_VERIFY_EMAIL"

#: Subject of the emails carrying a code. ``None``: the catalogue's ``mail.subject.recover``
#: or ``mail.subject.signup`` (see :mod:`flask_passlock.messages`).
MAIL_SUBJECT = "PASSLOCK_MAIL_SUBJECT"

#: ``From`` address of those emails. ``None``: the mail extension's default sender
#: (``MAIL_DEFAULT_SENDER``).
MAIL_SENDER = "PASSLOCK_MAIL_SENDER"

#: The one literal holding every default.
DEFAULTS: dict[str, Any] = {
    ENDPOINT: "https://api.passlock.dev",
    BROWSER_ENDPOINT: None,
    CLIENT_URL: "https://esm.sh/@passlock/client@2.4.2/safe",
    URL_PREFIX: "/passkey",
    TIMEOUT: 5.0,
    TRUSTED_ORIGINS: (),
    REGISTER_REDIRECT: None,
    LOGIN_VIEW: None,
    LOGIN_REDIRECT: "/",
    REMEMBER: False,
    FRESH_MAX_AGE: 300,
    VERIFY_ID_TOKEN: True,
    ID_TOKEN_ALGORITHMS: ("RS256", "PS256", "ES256", "ES384", "EdDSA"),
    ID_TOKEN_LEEWAY: 30,
    ID_TOKEN_ISSUER: "passlock.dev",
    JWKS_MIN_REFRESH: 30,
    REQUIRE_USER_VERIFICATION: False,
    MESSAGES: {},
    BASE_TEMPLATE: "passlock/base.html",
    RATE_LIMITS: None,
    RATE_LIMIT_STORAGE_URI: None,
    RECOVERY: False,
    SIGNUP_VERIFY_EMAIL: False,
    MAIL_SUBJECT: None,
    MAIL_SENDER: None,
}
