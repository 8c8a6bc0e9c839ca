"""Configuration keys read by :class:`flask_passlock.Passlock`, with their defaults.

Every key is seeded with :meth:`flask.Config.setdefault` in
:meth:`~flask_passlock.Passlock.init_app`, so ``app.config`` always shows the value in use.
"""

from __future__ import annotations

#: Passlock tenancy ID (required). Public: it is sent to the browser.
TENANCY_ID = "PASSLOCK_TENANCY_ID"

#: Passlock API key (required). Secret: used only for server-to-server calls.
API_KEY = "PASSLOCK_API_KEY"

#: Base URL of the Passlock REST API. Paths are resolved against its origin.
ENDPOINT = "PASSLOCK_ENDPOINT"
DEFAULT_ENDPOINT = "https://api.passlock.dev"

#: URL of the ES module exporting ``registerPasskey`` (``@passlock/client/safe`` or
#: ``@passlock/browser/safe`` behind a CDN that rewrites bare imports). ``None`` means
#: "the emulator's module" when the endpoint is the built-in emulator, else the CDN default.
CLIENT_URL = "PASSLOCK_CLIENT_URL"
DEFAULT_CLIENT_URL = "https://esm.sh/@passlock/client@2.4.2/safe"

#: Where the ``passlock`` blueprint is mounted.
URL_PREFIX = "PASSLOCK_URL_PREFIX"
DEFAULT_URL_PREFIX = "/passkey"

#: Timeout in seconds for calls to Passlock: a number, or a ``(connect, read)`` pair.
TIMEOUT = "PASSLOCK_TIMEOUT"
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)

#: Endpoint the browser talks to, when it differs from :data:`ENDPOINT` (e.g. behind a proxy).
#: ``None`` means the same as :data:`ENDPOINT`.
BROWSER_ENDPOINT = "PASSLOCK_BROWSER_ENDPOINT"

#: Extra origins (``scheme://host[:port]``) trusted by the Origin/Referer check of POST
#: routes, besides the app's own. Not used when Flask-WTF's ``CSRFProtect`` is active.
TRUSTED_ORIGINS = "PASSLOCK_TRUSTED_ORIGINS"

#: Where ``POST /passkey/register`` redirects a form submission after success.
#: ``None`` means the passkey list page of the blueprint.
REGISTER_REDIRECT = "PASSLOCK_REGISTER_REDIRECT"

#: Endpoint name (for :func:`flask.url_for`) of the app's sign-in page, used when an
#: anonymous visitor opens a page that needs a signed-in user. ``None``: Flask-Login's
#: ``login_view`` when set, otherwise the blueprint's passkey sign-in page.
LOGIN_VIEW = "PASSLOCK_LOGIN_VIEW"

DEFAULTS: dict[str, object] = {
    ENDPOINT: DEFAULT_ENDPOINT,
    CLIENT_URL: None,
    URL_PREFIX: DEFAULT_URL_PREFIX,
    TIMEOUT: DEFAULT_TIMEOUT,
    BROWSER_ENDPOINT: None,
    TRUSTED_ORIGINS: (),
    REGISTER_REDIRECT: None,
    LOGIN_VIEW: None,
}

#: Where a successful sign-in goes when the request has no safe ``next``.
LOGIN_REDIRECT = "PASSLOCK_LOGIN_REDIRECT"

#: Passed as ``remember=`` to Flask-Login's ``login_user``.
REMEMBER = "PASSLOCK_REMEMBER"

#: Verify the ``id_token`` locally with Passlock's JWKS instead of exchanging the code (needs
#: the ``jwt`` extra). The code exchange is still used when a request carries no id_token.
VERIFY_ID_TOKEN = "PASSLOCK_VERIFY_ID_TOKEN"

#: Signature algorithms accepted for id_tokens (asymmetric only; never ``none`` or HMAC).
ID_TOKEN_ALGORITHMS = "PASSLOCK_ID_TOKEN_ALGORITHMS"
DEFAULT_ID_TOKEN_ALGORITHMS = ("RS256", "PS256", "ES256", "ES384", "EdDSA")

#: Clock skew allowed on ``exp``/``iat``, in seconds.
ID_TOKEN_LEEWAY = "PASSLOCK_ID_TOKEN_LEEWAY"

#: Expected ``iss`` of id_tokens.
ID_TOKEN_ISSUER = "PASSLOCK_ID_TOKEN_ISSUER"

#: Fewest seconds between two JWKS downloads caused by unknown ``kid`` values.
JWKS_MIN_REFRESH = "PASSLOCK_JWKS_MIN_REFRESH"

#: Default ``max_age`` (seconds) of :func:`~flask_passlock.fresh_passkey_required`.
FRESH_MAX_AGE = "PASSLOCK_FRESH_MAX_AGE"

#: Replacement sentences for the errors shown to users, by error code (``"invalid_code"``...):
#: the one place to translate them (values may be lazy strings, e.g. Flask-Babel's
#: ``lazy_gettext``). A sentence given by your own hook (``LinkError("...")``) is kept.
MESSAGES = "PASSLOCK_MESSAGES"

DEFAULTS.update(
    {
        MESSAGES: {},
        LOGIN_REDIRECT: "/",
        REMEMBER: False,
        VERIFY_ID_TOKEN: False,
        ID_TOKEN_ALGORITHMS: DEFAULT_ID_TOKEN_ALGORITHMS,
        ID_TOKEN_LEEWAY: 30,
        ID_TOKEN_ISSUER: "passlock.dev",
        JWKS_MIN_REFRESH: 30,
        FRESH_MAX_AGE: 300,
    }
)
