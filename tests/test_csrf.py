"""The Origin/Referer check of every POST, rule by rule, and which rule refused."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from flask_passlock.csrf import allowed_origins, check_same_origin, origin_of
from flask_passlock.exceptions import CrossSiteRequest


def make_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    return app


def refusal(app: Flask, **kwargs: Any) -> str | None:
    """``None`` when the request passes the check, else the refusal's reason."""
    kwargs.setdefault("base_url", "http://localhost")
    with app.test_request_context("/passkey/login", method="POST", **kwargs):
        try:
            check_same_origin()
        except CrossSiteRequest as error:
            assert error.code == "cross_site_request" and error.status_code == 403
            return error.reason
    return None


ORIGINS = {
    "http": ("http://localhost", "http://localhost"),
    "https with port": ("https://a.example:8443", "https://a.example:8443"),
    "path dropped": ("https://a.example/x/y?z#w", "https://a.example"),
    "lower-cased": ("HTTPS://A.Example", "https://a.example"),
    "spaces around": (" https://a.example \t", "https://a.example"),
    "leading space": (" https://a.example", "https://a.example"),
    "trailing space": ("https://a.example ", "https://a.example"),
    "ftp": ("ftp://a.example", None),
    "no scheme": ("a.example", None),
    "protocol-relative": ("//a.example", None),
    "no host": ("https:///x", None),
    "null": ("null", None),
    "empty": ("", None),
    "unclosed IPv6 literal": ("http://[::1", None),
}


@pytest.mark.parametrize("url, expected", ORIGINS.values(), ids=ORIGINS.keys())
def test_origin_of(url, expected):
    assert origin_of(url) == expected


def test_own_origin_is_scheme_and_host_lower_cased():
    with make_app().test_request_context("/", base_url="https://Example.COM:8443"):
        assert allowed_origins() == {"https://example.com:8443"}


@pytest.mark.parametrize(
    "trusted",
    [
        "https://app.example",
        ["https://app.example"],
        ("https://app.example",),
        [" HTTPS://App.Example/ "],
        ["https://app.example//"],
    ],
    ids=["one string", "list", "tuple", "spaces, case, slash", "two slashes"],
)
def test_trusted_origins_are_normalised(trusted):
    app = make_app(PASSLOCK_TRUSTED_ORIGINS=trusted)
    with app.test_request_context("/", base_url="http://localhost"):
        assert allowed_origins() == {"http://localhost", "https://app.example"}


def test_only_slashes_are_stripped_from_a_trusted_origin():
    app = make_app(PASSLOCK_TRUSTED_ORIGINS=["https://BOX/", "https://a.example:8443 "])
    with app.test_request_context("/", base_url="http://localhost"):
        assert allowed_origins() == {"http://localhost", "https://box", "https://a.example:8443"}


@pytest.mark.parametrize("trusted", [None, (), [], ""], ids=repr)
def test_no_trusted_origins(trusted):
    app = make_app(PASSLOCK_TRUSTED_ORIGINS=trusted)
    with app.test_request_context("/", base_url="http://localhost"):
        assert allowed_origins() == {"http://localhost"}
    with make_app().test_request_context("/", base_url="http://localhost"):
        assert allowed_origins() == {"http://localhost"}


ORIGIN = "the Origin is not this site"
REFERER = "the Referer is not this site"
NEITHER = "no Origin or Referer header, and not JSON"
FORM = {"data": {"code": "x"}}
JSON = {"json": {"code": "x"}}

CASES = {
    "own origin, form": ({"Origin": "http://localhost"}, FORM, None),
    "own origin, upper case": ({"Origin": "HTTP://LOCALHOST"}, FORM, None),
    "trusted origin": ({"Origin": "https://app.example"}, FORM, None),
    "other origin": ({"Origin": "https://evil.example"}, FORM, ORIGIN),
    "other origin, JSON": ({"Origin": "https://evil.example"}, JSON, ORIGIN),
    "other port": ({"Origin": "http://localhost:8080"}, FORM, ORIGIN),
    "other scheme": ({"Origin": "https://localhost"}, FORM, ORIGIN),
    "null origin": ({"Origin": "null"}, JSON, ORIGIN),
    "empty origin, JSON": ({"Origin": ""}, JSON, ORIGIN),
    "origin wins over referer": (
        {"Origin": "http://localhost", "Referer": "https://evil.example/"},
        FORM,
        None,
    ),
    "bad origin, good referer": (
        {"Origin": "https://evil.example", "Referer": "http://localhost/"},
        FORM,
        ORIGIN,
    ),
    "own referer": ({"Referer": "http://localhost/passkey/login?next=/"}, FORM, None),
    "trusted referer": ({"Referer": "https://app.example/page"}, FORM, None),
    "other referer": ({"Referer": "https://evil.example/"}, FORM, REFERER),
    "other referer, JSON": ({"Referer": "https://evil.example/"}, JSON, REFERER),
    "empty referer, form": ({"Referer": ""}, FORM, NEITHER),
    "empty referer, JSON": ({"Referer": ""}, JSON, None),
    "neither, form": ({}, FORM, NEITHER),
    "neither, no body": ({}, {}, NEITHER),
    "neither, JSON": ({}, JSON, None),
}


@pytest.mark.parametrize("headers, body, reason", CASES.values(), ids=CASES.keys())
def test_which_rule_refuses(headers, body, reason):
    app = make_app(PASSLOCK_TRUSTED_ORIGINS=["https://app.example"])
    assert refusal(app, headers=headers, **body) == reason
