"""The error boundary of the email-code routes: malformed bodies of every kind, lone
surrogates, any JSON at all, and a database that is down answer a clear 4xx or 503, never a
500, and nothing reaches Passlock that should not."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .recovery_helpers import code_sent_to, new_address, recovery_app, signed_in_user
from .test_boundary import (
    NESTED,
    assert_clear_refusal,
    database_dies_after_commit,
    database_down,
)
from .test_properties import json_values

POSTS = [
    "/passkey/recover",
    "/passkey/recover/verify",
    "/passkey/signup/email",
    "/passkey/signup/email/verify",
]
PAGES = ["/passkey/recover", "/passkey/recover/verify", "/passkey/signup/email/verify"]


@pytest.fixture
def rec(emulator, database_url):
    with recovery_app(emulator, database_url, PASSLOCK_SIGNUP_VERIFY_EMAIL=True) as built:
        yield built


@pytest.fixture
def waiting(rec, emulator):
    """A client with a recovery code and a sign-up code waiting, and the two codes."""
    address, fresh = new_address("bound"), new_address("boundnew")
    rec.create_user("bound", email=address)
    client = rec.app.test_client()
    assert client.post("/passkey/recover", json={"email": address}).status_code == 200
    body = {"username": "boundnew", "email": fresh}
    assert client.post("/passkey/signup/email", json=body).status_code == 200
    return client, address, code_sent_to(emulator, address), code_sent_to(emulator, fresh)


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    "body",
    [
        NESTED,
        '{"email": ' + NESTED + "}",
        b'{"email": "\xff\xfe@example.com"}',
        '{"email": "a\\ud800@example.com", "code": "\\udfff", "username": "\\ud83d"}',
        '["email"]',
        "null",
    ],
    ids=["nested array", "nested field", "invalid utf-8", "lone surrogates", "array", "null"],
)
def test_malformed_bodies_are_400(rec, emulator, waiting, path, body):
    client = waiting[0]
    calls = len(emulator.requests)
    answer = client.post(path, data=body, content_type="application/json")
    assert_clear_refusal(answer, 400)
    assert len(emulator.requests) == calls


@pytest.mark.parametrize("path", POSTS)
def test_lone_surrogates_in_forms_never_get_through(rec, emulator, waiting, path):
    client = waiting[0]
    calls = len(emulator.requests)
    # a lone surrogate as a browser could only send it: its UTF-8-like bytes, percent-encoded
    # (they are not text: Werkzeug keeps them as the escapes "%ED%A0%80")
    body = "email=a%ED%A0%80%40example.com&code=12%ED%B0%8056&username=x%ED%A0%80"
    answer = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
    assert answer.status_code in (303, 400), answer.get_data(as_text=True)
    if answer.status_code == 400:
        assert len(emulator.requests) == calls
    for message in emulator.outbox:
        message.to.encode("utf-8")  # no surrogate ever reached Passlock or the mail


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(POSTS), body=st.dictionaries(st.sampled_from(
    ["email", "code", "username", "next", "csrf_token"]), json_values, max_size=4))  # fmt: skip
def test_any_json_gets_a_clear_answer(rec, waiting, path, body):
    answer = waiting[0].post(path, json=body)
    assert answer.status_code < 500, answer.get_data(as_text=True)
    assert answer.is_json and answer.get_json().get("code") or answer.status_code in (200, 303)


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "html"])
def test_every_route_answers_503_when_the_database_is_down(rec, emulator, waiting, as_json):
    client, address, recover_code, signup_code = waiting
    bodies = {
        "/passkey/recover": {"email": address},
        "/passkey/recover/verify": {"code": recover_code},
        "/passkey/signup/email": {"username": "other", "email": new_address("other")},
        "/passkey/signup/email/verify": {"code": signup_code},
    }
    with database_down(rec):
        for path, body in bodies.items():
            answer = client.post(path, json=body) if as_json else client.post(path, data=body)
            assert_clear_refusal(answer, 503, "storage_error")
        for page in PAGES:
            assert client.get(page).status_code == 200  # they need no database
        signed_in = rec.app.test_client(user=1)
        assert_clear_refusal(signed_in.get("/passkey/recover"), 503, "storage_error")
    assert signed_in_user(client) is None
    # the codes were used up at Passlock: the way on is a new one, which works again
    assert client.post("/passkey/recover", json={"email": address}).status_code == 200
    code = code_sent_to(emulator, address)
    assert client.post("/passkey/recover/verify", json={"code": code}).status_code == 200
    assert signed_in_user(client) is not None


def test_a_connection_dying_after_the_commit_still_signs_in(rec, emulator, waiting):
    client, _, recover_code, _ = waiting
    with database_dies_after_commit(rec):
        answer = client.post("/passkey/recover/verify", json={"code": recover_code})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert signed_in_user(client) is not None
