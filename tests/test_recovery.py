"""Account recovery (``/passkey/recover``): an email code signs a user in for recovery only,
the answer never tells whether an address has an account, and each refusal has its own
sentence and next step."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from flask_passlock import fresh_passkey_required, signals
from flask_passlock.emulator import Fault

from .helpers import listen_to
from .recovery_helpers import (
    code_sent_to,
    new_address,
    other_than,
    recovery_app,
    signed_in_user,
    verified_how,
)


@pytest.fixture
def rec(emulator, database_url):
    with recovery_app(emulator, database_url) as built:

        @built.app.get("/settings")
        @fresh_passkey_required
        def settings():
            return "settings"

        yield built


@pytest.fixture
def ada(rec, emulator):
    """A user with an address and a passkey (on the device she lost)."""
    address = new_address("ada")
    user_id = rec.create_user("ada", email=address)
    client = rec.app.test_client(user=user_id)
    issued = emulator.issue_code()
    assert client.post("/passkey/register", json={"code": issued.code}).status_code == 201
    return user_id, address, issued.authenticator_id


def ask(client, email, **options):
    return client.post("/passkey/recover", data={"email": email}, **options)


def test_recovery_signs_in_for_recovery_only(rec, emulator, ada):
    user_id, address, lost = ada
    client = rec.app.test_client()
    with listen_to(signals.recovery_requested) as requested:
        answer = ask(client, "  " + address.upper() + " ")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/passkey/recover/verify"
    message = emulator.last_email(to=address)
    assert message.to == address  # the address on the account, whatever its case as typed
    assert message.subject == "Your code to get back into your account"
    assert message.html and code_sent_to(emulator, address) in message.html
    assert requested[0]["user"].id == user_id and requested[0]["email"] == address.upper()

    page = client.get("/passkey/recover/verify").get_data(as_text=True)
    assert address.upper() in page and 'autocomplete="one-time-code"' in page
    assert signed_in_user(client) is None

    code = code_sent_to(emulator, address)
    with listen_to(signals.account_recovered) as recovered:
        answer = client.post("/passkey/recover/verify", data={"code": code})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/passkey/register?next=/passkey/"
    assert signed_in_user(client) == str(user_id)
    assert verified_how(client) == "recovery"
    [event] = recovered
    assert event["user"].id == user_id and event["challenge"].purpose == "passlock.recover"
    assert event["challenge"].secret is None and event["challenge"].code is None
    assert all(c.email != address for c in emulator.challenges)  # used up and deleted

    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "signed in with a code from your email" in page  # and asked to make a passkey
    # step-up never counts a recovery sign-in; its page offers making a passkey here
    step_up = client.get("/settings").headers["Location"]
    assert step_up == "/passkey/verify?next=/settings"
    page = client.get(step_up).get_data(as_text=True)
    assert 'data-fallback-url="/passkey/register?next=/settings"' in page
    assert 'data-fallback-label="Create a passkey on this device"' in page
    with rec.app.test_request_context():
        user = rec.db.session.get(rec.User, user_id)
        assert rec.passlock.verified_age(user) is None

    # a new passkey on the new device, and the list points at the lost one
    issued = emulator.issue_code()
    made = client.post("/passkey/register", data={"code": issued.code})
    assert made.status_code == 303
    listing = client.get("/passkey/").get_data(as_text=True)
    assert "delete its passkey below" in listing
    assert lost in listing and issued.authenticator_id in listing
    # the new passkey signs in as usual
    again = emulator.issue_code(authenticator_id=issued.authenticator_id)
    fresh = rec.app.test_client()
    assert fresh.post("/passkey/login", json={"code": again.code}).status_code == 200
    assert signed_in_user(fresh) == str(user_id) and verified_how(fresh) == "passkey"


def test_json_flow(rec, emulator, ada):
    user_id, address, _ = ada
    client = rec.app.test_client()
    answer = client.post("/passkey/recover", json={"email": address})
    assert answer.status_code == 200
    assert answer.get_json() == {"redirect": "/passkey/recover/verify"}
    code = code_sent_to(emulator, address)
    answer = client.post("/passkey/recover/verify", json={"code": f" {code[:3]} {code[3:]} "})
    assert answer.status_code == 200
    assert answer.get_json() == {"redirect": "/passkey/register?next=/passkey/"}
    assert signed_in_user(client) == str(user_id)


def _normalised(page: str, typed: str) -> str:
    return page.replace(typed, "ADDRESS")


def test_the_answer_is_the_same_with_or_without_an_account(rec, emulator, ada):
    """Known address, unknown address, and an account without an address: the same status,
    redirect and page, the same calls to Passlock, and an email each time."""
    rec.create_user("noemail")
    results = []
    for typed in (ada[1].upper(), new_address("nobody"), new_address("noemail")):
        client = rec.app.test_client()
        calls = len(emulator.requests)
        for as_json in (False, True):
            answer = (
                client.post("/passkey/recover", json={"email": typed})
                if as_json
                else ask(client, typed)
            )
            results.append((answer.status_code, answer.headers.get("Location"), answer.data))
        page = client.get("/passkey/recover/verify").get_data(as_text=True)
        made = [r for r in emulator.requests[calls:] if r[1].endswith("/challenges")]
        sent = emulator.last_email(to=typed)  # (to the address on the account, if any)
        results.append((len(made), _normalised(page, typed), sent.subject))
        with client.session_transaction() as session:
            assert "_user_id" not in session
            kept = dict(session["_passlock_recover"])
        # the signed session is readable by its browser: it must not tell either
        assert kept["email"] == typed and set(kept) == {"id", "secret", "email", "exp"}
        results.append(sorted(kept))
    known, unknown, without = results[0:4], results[4:8], results[8:12]
    assert known == unknown == without


def test_an_address_without_an_account_says_so_only_to_its_owner(rec, emulator):
    address = new_address("stranger")
    client = rec.app.test_client()
    ask(client, address)
    answer = client.post("/passkey/recover/verify", data={"code": code_sent_to(emulator, address)})
    assert answer.status_code == 404
    page = answer.get_data(as_text=True)
    assert 'data-code="no_account"' in page and "/passkey/signup" in page
    assert signed_in_user(client) is None


def test_wrong_code_then_the_right_one(rec, emulator, ada):
    user_id, address, _ = ada
    client = rec.app.test_client()
    ask(client, address)
    code = code_sent_to(emulator, address)
    answer = client.post("/passkey/recover/verify", data={"code": other_than(code)})
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "That code is not right" in page and 'id="passlock-recover-code"' in page
    assert "Send a new code" in page
    assert signed_in_user(client) is None
    assert client.post("/passkey/recover/verify", data={"code": code}).status_code == 303
    assert signed_in_user(client) == str(user_id)


def test_expired_code_offers_a_new_one(rec, emulator, ada):
    _, address, _ = ada
    client = rec.app.test_client()
    ask(client, address)
    [challenge] = [c for c in emulator.challenges if c.email == address]
    emulator.expire_challenge(challenge.challenge_id)
    answer = client.post("/passkey/recover/verify", data={"code": challenge.code})
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "This code has expired" in page
    assert 'id="passlock-recover-code"' not in page  # no use typing it again...
    assert 'id="passlock-recover-resend"' in page  # ...but a new one is a click away
    assert f'name="email" value="{address}"' in page
    # and the resend form works
    assert ask(client, address).status_code == 303
    code = code_sent_to(emulator, address)
    assert client.post("/passkey/recover/verify", data={"code": code}).status_code == 303


def test_too_many_wrong_codes(rec, emulator, ada):
    _, address, _ = ada
    client = rec.app.test_client()
    ask(client, address)
    code = code_sent_to(emulator, address)
    for _ in range(5):
        answer = client.post("/passkey/recover/verify", json={"code": other_than(code)})
        assert answer.get_json()["code"] == "invalid_challenge_code"
    answer = client.post("/passkey/recover/verify", json={"code": code})
    assert answer.status_code == 400
    assert answer.get_json() == {
        "code": "challenge_attempts_exceeded",
        "detail": "Too many wrong codes. Please ask for a new one.",
    }
    assert signed_in_user(client) is None
    # the browser's challenge is forgotten: typing again says there is none
    again = client.post("/passkey/recover/verify", json={"code": code})
    assert again.get_json()["code"] == "code_not_sent"


def test_a_new_code_replaces_the_old_one(rec, emulator, ada):
    _, address, _ = ada
    client = rec.app.test_client()
    ask(client, address)
    old = code_sent_to(emulator, address)
    other = rec.app.test_client()
    ask(other, address)
    new = code_sent_to(emulator, address)
    answer = client.post("/passkey/recover/verify", json={"code": old})
    assert answer.get_json()["code"] == "invalid_challenge"
    assert other.post("/passkey/recover/verify", json={"code": new}).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"code": ""}, {"code": None}, {"code": 123456}, {"code": "abc"}, {"code": "1" * 40}],
    ids=["none", "empty", "null", "number", "short", "long"],
)
def test_malformed_codes_cost_no_attempt(rec, emulator, ada, body):
    _, address, _ = ada
    client = rec.app.test_client()
    ask(client, address)
    calls = len(emulator.requests)
    answer = client.post("/passkey/recover/verify", json=body)
    assert answer.status_code == 400
    assert answer.get_json()["code"] == "invalid_challenge_code"
    assert len(emulator.requests) == calls
    [challenge] = [c for c in emulator.challenges if c.email == address]
    assert challenge.attempts == 0


def test_no_code_waiting(rec):
    client = rec.app.test_client()
    page = client.get("/passkey/recover/verify").get_data(as_text=True)
    assert "No code is waiting" in page and 'href="/passkey/recover"' in page
    answer = client.post("/passkey/recover/verify", data={"code": "123456"})
    assert answer.status_code == 400 and 'data-code="code_not_sent"' in answer.get_data(True)


@pytest.mark.parametrize(
    "email",
    ["", "   ", "ada", "ada@", "@example.com", "ada@example", "a b@example.com",
     "ada@@example.com", "ada@exa\nmple.com", "ada\u200b@example.com", "x" * 250 + "@ex.com",
     None, 7, ["ada@example.com"]],
)  # fmt: skip
def test_invalid_addresses_never_reach_passlock(rec, emulator, email):
    calls = len(emulator.requests)
    answer = rec.app.test_client().post("/passkey/recover", json={"email": email})
    assert answer.status_code == 400
    assert answer.get_json()["code"] == "invalid_email"
    assert len(emulator.requests) == calls


def test_invalid_address_on_the_page_keeps_what_was_typed(rec):
    answer = ask(rec.app.test_client(), "ada@example")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and 'data-code="invalid_email"' in page
    assert 'value="ada@example"' in page


def test_the_account_changed_its_address_meanwhile(rec, emulator, ada):
    user_id, address, _ = ada
    client = rec.app.test_client()
    ask(client, address)
    with rec.app.app_context():
        rec.db.session.execute(sa.update(rec.User).values(email=new_address("moved")))
        rec.db.session.commit()
    answer = client.post("/passkey/recover/verify", json={"code": code_sent_to(emulator, address)})
    assert answer.status_code == 404 and answer.get_json()["code"] == "no_account"
    assert signed_in_user(client) is None


def test_a_disabled_account_is_not_recovered(rec, emulator, ada):
    _, address, _ = ada
    rec.User.is_active = property(lambda self: False)
    try:
        client = rec.app.test_client()
        ask(client, address)
        code = code_sent_to(emulator, address)
        answer = client.post("/passkey/recover/verify", json={"code": code})
    finally:
        del rec.User.is_active
    assert answer.status_code == 403 and answer.get_json()["code"] == "user_disabled"
    assert signed_in_user(client) is None


def test_the_challenge_is_checked_again_before_it_is_used(rec, emulator, ada):
    """Passlock vouches for a challenge of another purpose (or address): refused."""
    _, address, _ = ada
    client = rec.app.test_client()
    ask(client, address)
    [challenge] = [c for c in emulator.challenges if c.email == address]
    for changed in ({"purpose": "other.purpose"}, {"email": new_address("else")}):
        readable = {**challenge.readable(), **changed}
        body = {"_tag": "ChallengeVerified", "challenge": readable}
        emulator.inject(Fault(200, json.dumps(body).encode(), "application/json"))
        answer = client.post("/passkey/recover/verify", json={"code": challenge.code})
        assert answer.status_code == 400, answer.get_json()
        assert answer.get_json()["code"] in ("invalid_challenge", "code_not_sent")
        assert signed_in_user(client) is None
        ask(client, address)
        [challenge] = [c for c in emulator.challenges if c.email == address]


def test_recovery_is_off_by_default(parts):
    client = parts.app.test_client()
    for path in ("/passkey/recover", "/passkey/recover/verify"):
        assert client.get(path).status_code == 404
        assert client.post(path, json={"email": "a@example.com", "code": "1"}).status_code == 404
    page = client.get("/passkey/login").get_data(as_text=True)
    assert "/passkey/recover" not in page


def test_the_sign_in_page_offers_recovery(rec):
    page = rec.app.test_client().get("/passkey/login").get_data(as_text=True)
    assert re.search(r'<a href="/passkey/recover">Lost your device\?</a>', page)
    # and the passkey form offers it when the prompt fails ("no passkey on this device")
    assert 'data-fallback-url="/passkey/recover"' in page
    assert 'data-fallback-label="Lost your device?"' in page


@pytest.mark.parametrize("path", ["/passkey/recover", "/passkey/recover/verify"])
def test_cross_site_posts_are_refused(rec, emulator, ada, path):
    _, address, _ = ada
    calls = len(emulator.requests)
    answer = rec.app.test_client().post(
        path,
        data={"email": address, "code": "123456"},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    assert len(emulator.requests) == calls and emulator.last_email(to=address) is None
