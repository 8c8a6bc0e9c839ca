"""POST /passkey/signup: passkey-first sign-up."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flask_passlock import ceremony, signals

from .helpers import listen_to


def users(parts):
    with parts.app.app_context():
        return list(
            parts.db.session.scalars(sa.select(parts.User.username).order_by(parts.User.id))
        )


def test_sign_up(parts, emulator):
    client = parts.app.test_client()
    issued = emulator.issue_code(username="zoe")
    with listen_to(signals.user_signed_up) as heard:
        response = client.post("/passkey/signup", json={"username": "  zoe ", "code": issued.code})
    assert response.status_code == 201, response.get_json()
    assert users(parts) == ["zoe"]
    rows = parts.rows()
    assert rows[0][0] == issued.authenticator_id
    with client.session_transaction() as session:
        assert session["_user_id"] == str(rows[0][1])
    assert heard[0]["user"].username == "zoe"
    with parts.app.app_context():  # the new account signed in with its passkey just now
        row = parts.db.session.get(parts.Authenticator, issued.authenticator_id)
        assert row.last_used_at is not None


def test_taken_username_creates_nothing_and_frees_the_passkey(parts, emulator):
    parts.create_user("zoe")
    issued = emulator.issue_code()
    response = parts.app.test_client().post(
        "/passkey/signup", json={"username": "zoe", "code": issued.code}
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "username_taken"
    assert users(parts) == ["zoe"]
    assert parts.rows() == []
    assert issued.authenticator_id not in emulator.passkeys


def test_a_username_taken_between_the_check_and_the_insert(parts, emulator, monkeypatch):
    """Two sign-ups for one name at once: both pass the early check, the database's unique
    key refuses the second insert. The loser gets 409 (not a storage error) and nothing."""
    free = ceremony.username_free

    def checked_before_the_other_committed(username):
        free(username)
        parts.create_user(username)  # the other sign-up commits now

    monkeypatch.setattr(ceremony, "username_free", checked_before_the_other_committed)
    issued = emulator.issue_code()
    response = parts.app.test_client().post(
        "/passkey/signup", json={"username": "zoe", "code": issued.code}
    )
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["code"] == "username_taken"
    assert users(parts) == ["zoe"]
    assert parts.rows() == []
    assert issued.authenticator_id not in emulator.passkeys


@pytest.mark.parametrize("username", ["", "   ", "x" * 65, "a\x00b", "a\nb", None, 7, ["a"]])
def test_bad_usernames(parts, emulator, username):
    before = len(emulator.requests)
    response = parts.app.test_client().post(
        "/passkey/signup",
        json={"username": username, "code": emulator.issue_code().code},
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_username"
    assert users(parts) == [] and parts.rows() == []
    assert len(emulator.requests) == before  # refused before any exchange


def test_passkey_already_linked_creates_no_user(parts, emulator):
    owner = parts.create_user("owner")
    client = parts.app.test_client(user=owner)
    issued = emulator.issue_code()
    assert client.post("/passkey/register", json={"code": issued.code}).status_code == 201
    again = emulator.issue_code(authenticator_id=issued.authenticator_id)
    response = parts.app.test_client().post(
        "/passkey/signup", json={"username": "thief", "code": again.code}
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "already_linked"
    assert users(parts) == ["owner"]
    assert issued.authenticator_id in emulator.passkeys  # never deleted: it is someone's


def test_create_user_hook(parts, emulator):
    made = []

    @parts.passlock.create_user
    def create(username, principal):
        user = parts.User(username=username.lower())
        made.append(principal.authenticator_id)
        return user

    try:
        response = parts.app.test_client().post(
            "/passkey/signup",
            json={"username": "ZOE", "code": emulator.issue_code().code},
        )
    finally:
        parts.passlock._create_user = None
    assert response.status_code == 201
    assert users(parts) == ["zoe"]
    assert parts.rows()[0][0] == made[0]


def test_invalid_code_creates_no_user(parts):
    response = parts.app.test_client().post(
        "/passkey/signup", json={"username": "zoe", "code": "nope"}
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_code"
    assert users(parts) == []


def test_cross_site_signup(parts, emulator):
    response = parts.app.test_client().post(
        "/passkey/signup",
        data={"username": "zoe", "code": emulator.issue_code().code},
        headers={"Origin": None, "Referer": "https://evil.example/", "Accept": "application/json"},
    )
    assert response.status_code == 403
    assert response.get_json()["code"] == "cross_site_request"
    assert users(parts) == []


@pytest.mark.parametrize(
    "username, status, code",
    [("ann", 200, None), ("ZOE ", 409, "username_taken"), ("a\u200bb", 400, "invalid_username")],
)
def test_a_username_can_be_checked_before_the_passkey_is_made(parts, username, status, code):
    parts.create_user("Zoe")
    before = len(parts.rows())
    response = parts.app.test_client().post("/passkey/signup", json={"username": username})
    assert response.status_code == status
    assert response.get_json().get("code") == code
    if status == 200:
        assert response.get_json()["username"] == username.strip()
    assert len(parts.rows()) == before and users(parts) == ["Zoe"]
