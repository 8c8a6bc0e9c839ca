"""passkey_required / fresh_passkey_required and POST /passkey/verify."""

from __future__ import annotations

import time

import pytest

from flask_passlock import fresh_passkey_required, passkey_required
from flask_passlock.freshness import VERIFIED


@pytest.fixture
def protected(parts, emulator):
    app = parts.app

    @app.get("/fresh")
    @fresh_passkey_required(max_age=60)
    def fresh():
        return "fresh page"

    @app.get("/any")
    @passkey_required
    def any_age():
        return "passkey page"

    @app.get("/default")
    @fresh_passkey_required
    def default_age():
        return "default page"

    users = {}
    for name in ("ada", "bob"):
        user_id = parts.create_user(name)
        client = app.test_client(user=user_id)
        issued = emulator.issue_code()
        registered = client.post("/passkey/register", json={"code": issued.code})
        assert registered.status_code == 201, registered.get_json()
        users[name] = (client, issued.authenticator_id)
        users[f"{name}_id"] = user_id
    return users


def set_verified_age(client, seconds_ago):
    with client.session_transaction() as session:
        record = session[VERIFIED]
        record["at"] = int(time.time() - seconds_ago)
        session[VERIFIED] = record


def test_password_session_without_passkey_is_sent_to_verify(protected):
    client, _ = protected["ada"]
    for path in ("/fresh", "/any", "/default"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/passkey/verify?next={path}"
        api = client.get(path, headers={"Accept": "application/json"})
        assert api.status_code == 401
        assert api.get_json()["code"] == "reauthentication_required"
        assert api.get_json()["verify_url"] == f"/passkey/verify?next={path}"


def test_anonymous_is_sent_to_login(parts, protected):
    response = parts.app.test_client().get("/fresh")
    assert response.headers["Location"] == "/passkey/login?next=/fresh"


def test_verify_then_pass(protected, emulator):
    client, passkey_id = protected["ada"]
    page = client.get("/passkey/verify?next=/fresh")
    assert passkey_id in page.get_data(as_text=True)  # allowCredentials for the ceremony
    code = emulator.issue_code(authenticator_id=passkey_id).code
    response = client.post("/passkey/verify?next=/fresh", json={"code": code})
    assert response.status_code == 200
    assert response.get_json()["redirect"] == "/fresh"
    assert client.get("/fresh").get_data(as_text=True) == "fresh page"
    assert client.get("/any").status_code == 200


def test_stale_verification(protected, emulator, parts):
    client, passkey_id = protected["ada"]
    code = emulator.issue_code(authenticator_id=passkey_id).code
    assert client.post("/passkey/verify", json={"code": code}).status_code == 200
    assert client.get("/fresh").status_code == 200
    set_verified_age(client, 59)
    assert client.get("/fresh").status_code == 200
    set_verified_age(client, 120)
    assert client.get("/fresh").status_code == 302
    assert client.get("/any").status_code == 200  # any age will do
    parts.app.config["PASSLOCK_FRESH_MAX_AGE"] = 600
    assert client.get("/default").status_code == 200


def test_verify_with_someone_elses_passkey(protected, emulator):
    client, _ = protected["ada"]
    _, bobs = protected["bob"]
    code = emulator.issue_code(authenticator_id=bobs).code
    response = client.post("/passkey/verify", json={"code": code})
    assert response.status_code == 403
    assert response.get_json()["code"] == "wrong_passkey"
    assert client.get("/fresh").status_code == 302


def test_verification_is_per_user(protected, emulator, parts):
    """A fresh verification of ada does not count for bob on the same browser."""
    client, passkey_id = protected["ada"]
    code = emulator.issue_code(authenticator_id=passkey_id).code
    assert client.post("/passkey/verify", json={"code": code}).status_code == 200
    assert client.get("/fresh").status_code == 200  # fresh for ada
    with client.session_transaction() as session:
        session["_user_id"] = str(protected["bob_id"])
    assert client.get("/fresh").status_code == 302


def test_verify_open_redirect(protected, emulator):
    client, passkey_id = protected["ada"]
    code = emulator.issue_code(authenticator_id=passkey_id).code
    response = client.post("/passkey/verify?next=//evil.example", json={"code": code})
    assert response.status_code == 200
    assert response.get_json()["redirect"] == "/"


def test_anonymous_goes_to_the_apps_login_view(parts, protected):
    parts.app.config["PASSLOCK_LOGIN_VIEW"] = "passlock.signup_page"  # any endpoint of the app
    response = parts.app.test_client().get("/fresh?tab=1")
    assert response.headers["Location"] == "/passkey/signup?next=/fresh?tab%3D1"
