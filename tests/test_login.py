"""POST /passkey/login and /passkey/login/options, and safe next redirects."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from flask_passlock import signals

from .helpers import listen_to


@pytest.fixture
def linked(parts, emulator):
    """A user 'ada' with one linked passkey; returns (user id, authenticator id)."""
    _, user_id, (passkey_id,) = parts.user_with_passkeys(emulator, "ada")
    return user_id, passkey_id


def whoami(client):
    with client.session_transaction() as session:
        return session.get("_user_id")


def test_sign_in_with_json(parts, emulator, linked):
    user_id, passkey_id = linked
    client = parts.app.test_client()
    code = emulator.issue_code(authenticator_id=passkey_id).code
    with listen_to(signals.passkey_authenticated) as heard:
        response = client.post("/passkey/login", json={"code": code})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["redirect"] == "/"
    assert whoami(client) == str(user_id)
    assert sa.inspect(heard[0]["user"]).identity == (user_id,)  # expired by the commit
    with parts.app.app_context():
        row = parts.db.session.get(parts.Authenticator, passkey_id)
        assert row.last_used_at is not None


def test_sign_in_with_form_and_next(parts, emulator, linked):
    _, passkey_id = linked
    client = parts.app.test_client()
    code = emulator.issue_code(authenticator_id=passkey_id).code
    response = client.post("/passkey/login?next=/account?tab=2", data={"code": code})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account?tab=2"


def test_remember_me(parts, emulator, linked):
    _, passkey_id = linked
    parts.app.config["PASSLOCK_REMEMBER"] = True
    client = parts.app.test_client()
    code = emulator.issue_code(authenticator_id=passkey_id).code
    response = client.post("/passkey/login", json={"code": code})
    assert "remember_token" in response.headers.get("Set-Cookie", "") or any(
        "remember_token" in c for c in response.headers.getlist("Set-Cookie")
    )


OPEN_REDIRECTS = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "/\tevil",
    " //evil.example",
    "https://localhost.evil.example/",
    "data:text/html,hi",
    "%2F%2Fevil.example",
]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_open_redirects_are_refused(parts, emulator, linked, target):
    _, passkey_id = linked
    client = parts.app.test_client()
    code = emulator.issue_code(authenticator_id=passkey_id).code
    response = client.post("/passkey/login", json={"code": code, "next": target})
    assert response.status_code == 200
    assert response.get_json()["redirect"] == "/"


def test_same_origin_absolute_next_is_reduced_to_a_path(parts, emulator, linked):
    _, passkey_id = linked
    client = parts.app.test_client()
    code = emulator.issue_code(authenticator_id=passkey_id).code
    response = client.post(
        "/passkey/login", json={"code": code, "next": "http://localhost/settings"}
    )
    assert response.get_json()["redirect"] == "/settings"


def test_unknown_passkey(parts, emulator, linked):
    client = parts.app.test_client()
    with listen_to(signals.login_failed) as heard:
        response = client.post("/passkey/login", json={"code": emulator.issue_code().code})
    assert response.status_code == 401
    assert response.get_json()["code"] == "unknown_passkey"
    assert whoami(client) is None
    assert heard[0]["error"].code == "unknown_passkey"


def test_disabled_user(parts, emulator, linked):
    _, passkey_id = linked
    parts.User.is_active = property(lambda self: self.username != "ada")
    try:
        client = parts.app.test_client()
        code = emulator.issue_code(authenticator_id=passkey_id).code
        response = client.post("/passkey/login", json={"code": code})
    finally:
        del parts.User.is_active
    assert response.status_code == 403
    assert response.get_json()["code"] == "user_disabled"
    assert whoami(client) is None
    with parts.app.app_context():
        assert parts.db.session.get(parts.Authenticator, passkey_id).last_used_at is None


def test_principal_that_is_not_a_passkey(parts, emulator, linked):
    import json

    from flask_passlock.emulator import Fault

    _, passkey_id = linked
    code = emulator.issue_code(authenticator_id=passkey_id)
    body = dict(code.principal, authenticatorType="apple")
    emulator.inject(Fault(200, json.dumps(body).encode(), "application/json"))
    client = parts.app.test_client()
    response = client.post("/passkey/login", json={"code": code.code})
    assert response.status_code == 400
    assert response.get_json()["code"] == "not_a_passkey"
    assert whoami(client) is None


@pytest.mark.parametrize(
    "code, error", [("../x", "invalid_code"), ("", "bad_request"), ("a" * 10_000, "invalid_code")]
)
def test_bad_codes(parts, linked, code, error):
    response = parts.app.test_client().post("/passkey/login", json={"code": code})
    assert response.status_code == 400
    assert response.get_json()["code"] == error


def test_cross_site_login_refused(parts, emulator, linked):
    _, passkey_id = linked
    client = parts.app.test_client()
    code = emulator.issue_code(authenticator_id=passkey_id).code
    response = client.post(
        "/passkey/login", data={"code": code}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert 'data-code="cross_site_request"' in response.get_data(as_text=True)
    assert whoami(client) is None


def test_login_html_error_page(parts, emulator, linked):
    response = parts.app.test_client().post(
        "/passkey/login", data={"code": emulator.issue_code().code}
    )
    assert response.status_code == 401
    assert 'data-code="unknown_passkey"' in response.get_data(as_text=True)


def test_login_options(parts, linked):
    _, passkey_id = linked
    client = parts.app.test_client()
    known = client.post("/passkey/login/options", json={"username": "ada"})
    assert known.get_json() == {"allowCredentials": [passkey_id]}
    unknown = client.post("/passkey/login/options", json={"username": "nobody"})
    assert unknown.get_json() == {"allowCredentials": []}
    bad = client.post("/passkey/login/options", json={"username": 5})
    assert bad.status_code == 400
    assert bad.get_json()["code"] == "bad_request"


def test_login_page_renders(parts):
    page = parts.app.test_client().get("/passkey/login?next=/x").get_data(as_text=True)
    assert 'autocomplete="username webauthn"' in page
    assert 'action="/passkey/login?next=/x"' in page


def test_custom_login_hook(parts, emulator, linked):
    _, passkey_id = linked
    logged = []
    parts.passlock.login_user(lambda user: logged.append(user.username))
    try:
        code = emulator.issue_code(authenticator_id=passkey_id).code
        response = parts.app.test_client().post("/passkey/login", json={"code": code})
    finally:
        parts.passlock._login_user = None
    assert response.status_code == 200
    assert logged == ["ada"]


def test_passlock_down_during_login(parts, emulator, linked):
    from flask_passlock.emulator import Fault

    _, passkey_id = linked
    emulator.inject(Fault(502, b"<html>bad gateway</html>"))
    client = parts.app.test_client()
    code = emulator.issue_code(authenticator_id=passkey_id).code
    response = client.post("/passkey/login", json={"code": code})
    assert response.status_code == 503
    assert response.get_json()["code"] == "passlock_unavailable"
    assert whoami(client) is None
    with parts.app.app_context():
        count = parts.db.session.scalar(sa.select(sa.func.count()).select_from(parts.Authenticator))
    assert count == 1


@pytest.fixture
def host_in_new_york(monkeypatch):
    """The server's local time is UTC-5 (or -4), as on a host nobody set to UTC."""
    if not hasattr(time, "tzset"):
        pytest.skip("no time.tzset on this platform")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_are_utc_whatever_the_host_zone(parts, emulator, host_in_new_york):
    """Creation and last use are stored and answered in UTC on a host whose clock is not."""
    _, user_id, (passkey_id,) = parts.user_with_passkeys(emulator, "ada")
    code = emulator.issue_code(authenticator_id=passkey_id).code
    response = parts.app.test_client().post("/passkey/login", json={"code": code})
    assert response.status_code == 200, response.get_json()
    now = datetime.now(timezone.utc)
    answered = response.get_json()["authenticator"]
    with parts.app.app_context():
        row = parts.db.session.get(parts.Authenticator, passkey_id)
        stored = [row.created_at, row.last_used_at]
    for value in [datetime.fromisoformat(answered[k]) for k in ("created_at", "last_used_at")]:
        assert value.tzinfo is not None and abs(now - value).total_seconds() < 60, value
    for value in stored:  # SQLite gives the value back without its zone: it must be UTC
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        assert abs(now - aware).total_seconds() < 60, value
