"""PasslockClient's mailbox challenges against the emulator: every error tag becomes its typed
exception, and the challenge's secret and one-time code never reach a repr, an exception
message or a log line (urllib3's included, at DEBUG)."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator

import pytest

from flask_passlock import (
    Challenge,
    ChallengeAttemptsExceeded,
    ChallengeError,
    ChallengeExpired,
    ChallengeRateLimited,
    Forbidden,
    InvalidChallenge,
    InvalidChallengeCode,
    MalformedResponse,
    NotFound,
    PasslockClient,
    PasslockUnavailable,
)
from flask_passlock.emulator import Fault, PasslockEmulator

_ADDRESSES = itertools.count()


@pytest.fixture
def client(emulator: PasslockEmulator) -> Iterator[PasslockClient]:
    with PasslockClient(emulator.tenancy_id, emulator.api_key, endpoint=emulator.url) as c:
        yield c


@pytest.fixture
def email() -> str:
    """An address of its own per test: the session's emulator rate-limits by address."""
    return f"client-{next(_ADDRESSES)}@example.com"


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_create_verify_delete(emulator, client, email):
    created = client.create_challenge(email, "passlock.recover", user_id="7", metadata={"n": 1})
    assert isinstance(created, Challenge)
    assert created.purpose == "passlock.recover" and created.email == email
    assert created.user_id == "7" and dict(created.metadata or {}) == {"n": 1}
    assert created.code and created.code in (created.message_text or "")
    assert created.message_html and created.secret
    fetched = client.get_challenge(created.challenge_id)
    assert fetched.secret is None and fetched.code is None
    verified = client.verify_challenge(created.challenge_id, created.secret, created.code)
    assert verified.challenge_id == created.challenge_id and verified.purpose == created.purpose
    assert verified.secret is None and verified.code is None
    client.delete_challenge(created.challenge_id)
    assert created.challenge_id not in {c.challenge_id for c in emulator.challenges}


def test_verify_errors_of_the_emulator_itself(emulator, client, email):
    created = client.create_challenge(email, "passlock.recover")
    with pytest.raises(InvalidChallengeCode):
        client.verify_challenge(created.challenge_id, created.secret, wrong(created.code))
    with pytest.raises(InvalidChallenge):  # the secret must match
        client.verify_challenge(created.challenge_id, "not-the-secret", created.code)
    with pytest.raises(InvalidChallenge):  # an unknown id is InvalidChallenge, not NotFound
        client.verify_challenge("no-such-challenge", created.secret, created.code)
    emulator.expire_challenge(created.challenge_id)
    with pytest.raises(ChallengeExpired):
        client.verify_challenge(created.challenge_id, created.secret, created.code)


def test_attempts_are_capped(client, email):
    created = client.create_challenge(email, "passlock.recover")
    for _ in range(5):
        with pytest.raises(InvalidChallengeCode):
            client.verify_challenge(created.challenge_id, created.secret, wrong(created.code))
    with pytest.raises(ChallengeAttemptsExceeded):
        client.verify_challenge(created.challenge_id, created.secret, created.code)


def test_a_verified_challenge_is_used_up(client, email):
    created = client.create_challenge(email, "passlock.recover")
    client.verify_challenge(created.challenge_id, created.secret, created.code)
    with pytest.raises(InvalidChallenge):
        client.verify_challenge(created.challenge_id, created.secret, created.code)


@pytest.mark.parametrize(
    "tag, fields, error",
    [
        ("@error/InvalidChallenge", {}, InvalidChallenge),
        ("@error/InvalidChallengeCode", {}, InvalidChallengeCode),
        ("@error/ChallengeExpired", {}, ChallengeExpired),
        ("@error/ChallengeAttemptsExceeded", {}, ChallengeAttemptsExceeded),
        ("@error/ChallengeRateLimited", {"retryAfterSeconds": 42}, ChallengeRateLimited),
        ("@error/Forbidden", {}, Forbidden),
        ("@error/NotFound", {}, NotFound),
        ("@error/Internal", {}, PasslockUnavailable),
    ],
)
@pytest.mark.parametrize("call", ["create", "verify", "get", "delete"])
def test_every_error_tag_is_its_exception(emulator, client, email, tag, fields, error, call):
    emulator.inject(Fault.error(tag, **fields))
    with pytest.raises(error) as info:
        if call == "create":
            client.create_challenge(email, "passlock.recover")
        elif call == "verify":
            client.verify_challenge("c-1", "s" * 43, "123456")
        elif call == "get":
            client.get_challenge("c-1")
        else:
            client.delete_challenge("c-1")
    if error is ChallengeRateLimited:
        assert info.value.retry_after == 42
        assert "42 seconds" in info.value.detail
    if issubclass(error, ChallengeError):
        assert info.value.status_code in (400, 429)


@pytest.mark.parametrize("retry_after", [None, "soon", True, -5])
def test_rate_limit_without_a_usable_wait(emulator, client, email, retry_after):
    body = {"_tag": "@error/ChallengeRateLimited", "message": "Too many"}
    if retry_after is not None:
        body["retryAfterSeconds"] = retry_after
    emulator.inject(Fault(429, json.dumps(body).encode(), "application/json"))
    with pytest.raises(ChallengeRateLimited) as info:
        client.create_challenge(email, "passlock.recover")
    assert info.value.retry_after >= 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault(200, b'{"_tag": "ChallengeCreated"}', "application/json"),
        Fault(
            200,
            b'{"_tag": "ChallengeCreated", "challenge": {"challengeId": 5}}',
            "application/json",
        ),
        Fault(200, b'{"_tag": "Something"}', "application/json"),
        Fault(500, b"<html>oops</html>"),
        Fault(reset=True),
    ],
    ids=["no challenge", "wrong types", "wrong tag", "html", "reset"],
)
def test_malformed_or_failed_answers(emulator, client, email, fault):
    emulator.inject(fault)
    with pytest.raises((MalformedResponse, PasslockUnavailable)):
        client.create_challenge(email, "passlock.recover")


def test_ids_are_checked_before_they_reach_a_url(emulator, client):
    calls = len(emulator.requests)
    for bad in ("../passkeys", "a/b", "", "x" * 600, ".."):
        with pytest.raises(NotFound):
            client.get_challenge(bad)
        with pytest.raises(NotFound):
            client.delete_challenge(bad)
    assert len(emulator.requests) == calls


def test_secret_and_code_never_leak(emulator, client, email, caplog):
    caplog.set_level(logging.DEBUG)
    created = client.create_challenge(email, "passlock.recover")
    secrets = [created.secret, created.code]
    texts = [repr(created), str(created)]
    for code in (wrong(created.code), created.code, created.code):
        try:
            texts.append(repr(client.verify_challenge(created.challenge_id, created.secret, code)))
        except ChallengeError as error:
            texts.extend([str(error), repr(error), error.detail, str(error.answer())])
    for tag in ("@error/InvalidChallengeCode", "@error/ChallengeExpired"):
        emulator.inject(Fault.error(tag))
        with pytest.raises(ChallengeError) as info:
            client.verify_challenge(created.challenge_id, created.secret, created.code)
        texts.extend([str(info.value), repr(info.value)])
    texts.append(caplog.text)
    assert "challenges/verify" in caplog.text  # urllib3 did log the calls, without bodies
    assert [s for s in secrets for t in texts if s and s in t] == []
