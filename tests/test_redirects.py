"""``safe_next``: each rule alone, at its boundary (a path on this site, or nothing)."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_passlock.redirects import MAX_NEXT_LENGTH, safe_next

app = Flask(__name__)


def check(target: object, base_url: str = "http://localhost") -> str | None:
    with app.test_request_context("/", base_url=base_url):
        return safe_next(target)


ACCEPTED = {
    "root": ("/", "/"),
    "path": ("/account", "/account"),
    "query and fragment": ("/a?b=1#c", "/a?b=1#c"),
    "'!' (0x21, the first printable)": ("/!", "/!"),
    "'\"'": ('/a"b', '/a"b'),
    "'~' (0x7E, before DEL)": ("/~a", "/~a"),
    "non-ASCII letter": ("/caf\u00e9", "/caf\u00e9"),
    "own absolute url": ("http://localhost/account", "/account"),
    "own absolute url, no path": ("http://localhost", "/"),
    "own absolute url with a query": ("http://localhost/a?b=1", "/a?b=1"),
    "own absolute url with a fragment": ("http://localhost/a#top", "/a#top"),
    "own absolute url with both": ("http://localhost/a?b=1#top", "/a?b=1#top"),
    "own absolute url, query only": ("http://localhost?b=1", "/?b=1"),
    "own absolute url, fragment only": ("http://localhost#top", "/#top"),
    "longest": ("/" + "a" * (MAX_NEXT_LENGTH - 1), "/" + "a" * (MAX_NEXT_LENGTH - 1)),
}


@pytest.mark.parametrize("target, expected", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_local_paths_are_kept(target, expected):
    assert check(target) == expected


REFUSED = {
    "empty": "",
    "relative": "account",
    "protocol-relative": "//evil.example",
    "three slashes": "///evil.example",
    "four slashes": "////evil.example",
    "own host, then //": "http://localhost//evil.example",
    "own host, then ///": "http://localhost///evil.example",
    "other host": "http://evil.example/",
    "own host, other scheme": "https://localhost/",
    "own host, other port": "http://localhost:8080/",
    "other host, own scheme, no path": "http://evil.example",
    "scheme, no host": "http:///evil.example",
    "javascript": "javascript:alert(1)",
    "backslash": "/\\evil.example",
    "backslashes": "\\\\evil.example",
    "space": "/a b",
    "tab": "/\t/evil.example",
    "newline": "/a\nb",
    "NUL": "/\x00",
    "unit separator (0x1F)": "/\x1f",
    "DEL (0x7F)": "/\x7f",
    "C1 control (0x85)": "/\x85",
    "no-break space": "/a\u00a0b",
    "zero width space": "/a\u200bb",
    "right-to-left override": "/\u202eevil",
    "line separator": "/a\u2028b",
    "lone surrogate": "/a\ud800",
    "private use": "/\ue000",
    "unclosed IPv6 literal": "http://[",
    "one too long": "/" + "a" * MAX_NEXT_LENGTH,
}


@pytest.mark.parametrize("target", REFUSED.values(), ids=REFUSED.keys())
def test_anything_else_is_refused(target):
    assert check(target) is None


@pytest.mark.parametrize("target", [None, 5, ["/x"], {"/x": 1}, b"/x", True])
def test_non_strings_are_refused(target):
    assert check(target) is None


def test_the_request_decides_what_is_own():
    assert check("https://example.com:8443/a", "https://example.com:8443") == "/a"
    assert check("https://example.com/a", "https://example.com:8443") is None
    assert check("http://example.com:8443/a", "https://example.com:8443") is None
