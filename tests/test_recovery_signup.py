"""Passkey-first sign-up with a confirmed email address (``PASSLOCK_SIGNUP_VERIFY_EMAIL``): the
address is proven with a code before any passkey is made, and reaches ``create_user``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flask_passlock import signals

from .helpers import listen_to
from .recovery_helpers import code_sent_to, new_address, other_than, recovery_app


@pytest.fixture
def rec(emulator, database_url):
    with recovery_app(emulator, database_url, PASSLOCK_SIGNUP_VERIFY_EMAIL=True) as built:
        yield built


def accounts(rec):
    with rec.app.app_context():
        users = rec.db.session.scalars(sa.select(rec.User).order_by(rec.User.id))
        return [(u.username, u.email) for u in users]


def confirm(rec, emulator, client, username, address, **options):
    answer = client.post(
        "/passkey/signup/email", data={"username": username, "email": address}, **options
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    code = code_sent_to(emulator, address)
    return client.post(answer.headers["Location"], data={"code": code})


def test_sign_up_with_a_confirmed_address(rec, emulator):
    address = new_address("zoe")
    client = rec.app.test_client()
    page = client.get("/passkey/signup").get_data(as_text=True)
    assert 'id="passlock-signup-email"' in page and 'data-passlock="signup"' not in page

    answer = client.post(
        "/passkey/signup/email",
        data={"username": "zoe", "email": address, "next": "/welcome"},
    )
    assert answer.headers["Location"] == "/passkey/signup/email/verify?next=/welcome"
    message = emulator.last_email(to=address)
    assert message.subject == "Your code to confirm your email address"
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert address in page and 'autocomplete="one-time-code"' in page
    wrong = client.post(answer.headers["Location"], data={"code": other_than("000000")})
    assert wrong.status_code == 400

    answer = client.post(
        "/passkey/signup/email/verify",
        data={"code": code_sent_to(emulator, address), "next": "/welcome"},
    )
    assert answer.headers["Location"] == "/passkey/signup?next=/welcome"
    page = client.get("/passkey/signup").get_data(as_text=True)
    assert f"Email confirmed: {address}" in page and 'value="zoe"' in page
    assert 'data-passlock="signup"' in page

    assert client.post("/passkey/signup", json={"username": "zoe"}).status_code == 200
    with listen_to(signals.user_signed_up) as heard:
        answer = client.post(
            "/passkey/signup", json={"username": "zoe", "code": emulator.issue_code().code}
        )
    assert answer.status_code == 201, answer.get_json()
    assert accounts(rec) == [("zoe", address)]
    assert heard[0]["user"].email == address
    with client.session_transaction() as session:
        assert "_passlock_signup_email" not in session and session["_user_id"]
    # and that account can now be recovered
    assert (
        rec.app.test_client().post("/passkey/recover", json={"email": address}).status_code == 200
    )


def test_no_passkey_is_made_without_a_confirmed_address(rec, emulator):
    client = rec.app.test_client()
    probe = client.post("/passkey/signup", json={"username": "eve"})
    assert probe.status_code == 403 and probe.get_json()["code"] == "email_not_verified"
    issued = emulator.issue_code()
    answer = client.post("/passkey/signup", json={"username": "eve", "code": issued.code})
    assert answer.status_code == 403 and answer.get_json()["code"] == "email_not_verified"
    assert accounts(rec) == []
    assert issued.authenticator_id not in emulator.passkeys  # the ceremony's passkey freed


def test_a_taken_username_is_said_before_any_email(rec, emulator):
    rec.create_user("zoe", email=new_address("first"))
    address = new_address("second")
    answer = rec.app.test_client().post(
        "/passkey/signup/email", data={"username": "ZOE", "email": address}
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 409 and 'data-code="username_taken"' in page
    assert f'value="{address}"' in page and 'value="ZOE"' in page
    assert emulator.last_email(to=address) is None


@pytest.mark.parametrize(
    "body, code",
    [
        ({"username": "", "email": "a@example.com"}, "invalid_username"),
        ({"username": "a\u200bb", "email": "a@example.com"}, "invalid_username"),
        ({"username": "ann", "email": "nope"}, "invalid_email"),
        ({"username": "ann"}, "invalid_email"),
    ],
)
def test_bad_fields(rec, emulator, body, code):
    calls = len(emulator.requests)
    answer = rec.app.test_client().post("/passkey/signup/email", json=body)
    assert answer.status_code == 400 and answer.get_json()["code"] == code
    assert len(emulator.requests) == calls


def test_an_address_with_an_account_is_told_only_to_its_owner(rec, emulator):
    address = new_address("owner")
    rec.create_user("owner", email=address)
    client = rec.app.test_client()
    answer = client.post(
        "/passkey/signup/email", data={"username": "newcomer", "email": address.upper()}
    )
    assert answer.status_code == 303  # the same as for a free address
    answer = client.post(
        "/passkey/signup/email/verify", data={"code": code_sent_to(emulator, address.upper())}
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 409 and 'data-code="email_in_use"' in page
    assert 'href="/passkey/recover"' in page  # the way back into that account
    assert 'data-passlock="signup"' not in client.get("/passkey/signup").get_data(as_text=True)


def test_the_address_taken_meanwhile_creates_nothing(rec, emulator):
    address = new_address("race")
    client = rec.app.test_client()
    confirm(rec, emulator, client, "first", address)
    rec.create_user("quicker", email=address)
    issued = emulator.issue_code()
    answer = client.post("/passkey/signup", json={"username": "first", "code": issued.code})
    assert answer.status_code == 409 and answer.get_json()["code"] == "email_in_use"
    assert [a for a, _ in accounts(rec)] == ["quicker"]
    assert issued.authenticator_id not in emulator.passkeys


def test_create_user_hook_reads_the_confirmed_address(rec, emulator):
    seen = []

    @rec.passlock.create_user
    def create(username, principal):
        seen.append(rec.passlock.signup_email)
        return rec.User(username=username.lower(), email=rec.passlock.signup_email)

    address = new_address("hook")
    client = rec.app.test_client()
    try:
        confirm(rec, emulator, client, "Hooked", address)
        code = emulator.issue_code().code
        answer = client.post("/passkey/signup", json={"username": "Hooked", "code": code})
    finally:
        del rec.passlock._hooks["create_user"]
    assert answer.status_code == 201
    assert seen == [address] and accounts(rec) == [("hooked", address)]


def test_without_the_setting_sign_up_is_as_before(emulator, database_url):
    with recovery_app(emulator, database_url) as rec:
        client = rec.app.test_client()
        assert 'data-passlock="signup"' in client.get("/passkey/signup").get_data(as_text=True)
        assert client.post("/passkey/signup/email", json={}).status_code == 404
        assert client.get("/passkey/signup/email/verify").status_code == 404
        code = emulator.issue_code().code
        answer = client.post("/passkey/signup", json={"username": "plain", "code": code})
        assert answer.status_code == 201
        assert accounts(rec) == [("plain", None)]
