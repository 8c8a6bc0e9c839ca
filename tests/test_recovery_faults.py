"""Every way a recovery step can fail at Passlock (injected with ``Fault.error``) or in the
mail: a clear status, its own sentence, and a next step on the page; never a 500."""

from __future__ import annotations

import pytest

from flask_passlock.emulator import Fault

from .recovery_helpers import code_sent_to, new_address, recovery_app, signed_in_user


@pytest.fixture
def rec(emulator, database_url):
    with recovery_app(emulator, database_url) as built:
        yield built


@pytest.fixture
def address(rec):
    email = new_address("fault")
    rec.create_user("faulty", email=email)
    return email


SEND_FAULTS = [
    (
        Fault.error("@error/ChallengeRateLimited", 429, retryAfterSeconds=37),
        429,
        "challenge_rate_limited",
        "Too many codes were sent. Please try again in 37 seconds.",
    ),
    (Fault.error("@error/Forbidden"), 502, "passlock_forbidden", "Passlock refused"),
    (Fault(500, b"<html>down</html>"), 503, "passlock_unavailable", "unavailable"),
    (Fault(reset=True), 503, "passlock_unavailable", "unavailable"),
    (Fault(200, b'{"_tag": "Nope"}', "application/json"), 502, "malformed_response", "answer"),
]


@pytest.mark.parametrize("as_json", [False, True], ids=["html", "json"])
@pytest.mark.parametrize(
    "fault, status, code, sentence",
    SEND_FAULTS,
    ids=["rate limited", "forbidden", "down", "reset", "malformed"],
)
def test_sending_a_code_fails(rec, emulator, address, as_json, fault, status, code, sentence):
    emulator.inject(fault)
    client = rec.app.test_client()
    if as_json:
        answer = client.post("/passkey/recover", json={"email": address})
        body = answer.get_json()
        assert body["code"] == code and sentence in body["detail"]
        if code == "challenge_rate_limited":
            assert body["retry_after"] == 37
    else:
        answer = client.post("/passkey/recover", data={"email": address})
        page = answer.get_data(as_text=True)
        assert f'data-code="{code}"' in page and sentence in page
        assert f'value="{address}"' in page and 'id="passlock-recover"' in page  # try again
    assert answer.status_code == status
    if code == "challenge_rate_limited":
        assert answer.headers["Retry-After"] == "37"
    assert emulator.last_email(to=address) is None
    with client.session_transaction() as session:
        assert "_passlock_recover" not in session


#: (tag, status, code, sentence, the code form is still offered)
VERIFY_FAULTS = [
    ("@error/InvalidChallengeCode", 400, "invalid_challenge_code", "not right", True),
    ("@error/ChallengeExpired", 400, "challenge_expired", "has expired", False),
    ("@error/ChallengeAttemptsExceeded", 400, "challenge_attempts_exceeded", "Too many", False),
    ("@error/InvalidChallenge", 400, "invalid_challenge", "no longer valid", False),
    ("@error/Forbidden", 502, "passlock_forbidden", "Passlock refused", True),
    ("@error/Internal", 503, "passlock_unavailable", "unavailable", True),
]


@pytest.mark.parametrize(
    "tag, status, code, sentence, retry", VERIFY_FAULTS, ids=[f[2] for f in VERIFY_FAULTS]
)
def test_checking_a_code_fails(rec, emulator, address, tag, status, code, sentence, retry):
    client = rec.app.test_client()
    client.post("/passkey/recover", data={"email": address})
    right = code_sent_to(emulator, address)
    emulator.inject(Fault.error(tag))
    answer = client.post("/passkey/recover/verify", data={"code": right})
    page = answer.get_data(as_text=True)
    assert answer.status_code == status
    assert f'data-code="{code}"' in page and sentence in page
    assert ('id="passlock-recover-code"' in page) is retry  # type it again...
    assert 'id="passlock-recover-resend"' in page  # ...or send a new code
    assert signed_in_user(client) is None
    if retry:  # the same code still works once Passlock is back
        assert client.post("/passkey/recover/verify", data={"code": right}).status_code == 303
        assert signed_in_user(client) is not None


@pytest.mark.parametrize(
    "tag, status, code, sentence, retry", VERIFY_FAULTS, ids=[f[2] for f in VERIFY_FAULTS]
)
def test_checking_a_code_fails_json(rec, emulator, address, tag, status, code, sentence, retry):
    client = rec.app.test_client()
    client.post("/passkey/recover", json={"email": address})
    emulator.inject(Fault.error(tag))
    answer = client.post("/passkey/recover/verify", json={"code": code_sent_to(emulator, address)})
    assert answer.status_code == status
    assert answer.get_json()["code"] == code and sentence in answer.get_json()["detail"]


def test_the_mail_fails(rec, emulator, address):
    failures = []

    def broken(to, subject, text, html):
        failures.append(to)
        raise ConnectionRefusedError("smtp down")

    rec.passlock.send_email(broken)
    try:
        client = rec.app.test_client()
        answer = client.post("/passkey/recover", data={"email": address})
    finally:
        del rec.passlock._hooks["send_email"]
    page = answer.get_data(as_text=True)
    assert answer.status_code == 503 and 'data-code="email_not_sent"' in page
    assert "could not be sent" in page and f'value="{address}"' in page
    assert failures == [address]
    assert all(c.email != address for c in emulator.challenges)  # deleted again
    with client.session_transaction() as session:
        assert "_passlock_recover" not in session


def test_an_unknown_address_fails_the_same_way(rec, emulator):
    """A refusal from Passlock reads the same for an address with no account."""
    emulator.inject(Fault.error("@error/ChallengeRateLimited", 429, retryAfterSeconds=9))
    answer = rec.app.test_client().post("/passkey/recover", json={"email": new_address("x")})
    assert answer.status_code == 429 and answer.get_json()["retry_after"] == 9
