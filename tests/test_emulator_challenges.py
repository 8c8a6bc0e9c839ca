"""Mailbox challenges: Passlock's validation, expiry, attempt cap, rate limit, invalidation and
single use, over HTTP."""

from __future__ import annotations

import threading

import pytest
import requests

from flask_passlock.emulator import PasslockEmulator

from .test_emulator import call

ATTEMPTS, RATE_LIMIT, RATE_WINDOW = 3, 2, 30


@pytest.fixture
def emu():
    with PasslockEmulator(
        challenge_attempts=ATTEMPTS,
        challenge_rate_limit=RATE_LIMIT,
        challenge_rate_window=RATE_WINDOW,
    ) as emulator:
        yield emulator


def create(emulator, email="ada@example.com", purpose="login", status=201, **extra):
    answer = call(
        emulator, "POST", "challenges", json={"email": email, "purpose": purpose, **extra}
    )
    assert answer.status_code == status, answer.text
    body = answer.json()
    return body["challenge"] if status == 201 else body


def verify(emulator, challenge, **changes):
    fields = {k: challenge[k] for k in ("challengeId", "secret", "code")}
    return call(emulator, "POST", "challenges/verify", json={**fields, **changes})


def wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_created_challenge(emu):
    answer = call(
        emu, "POST", "challenges", json={"email": "ada@example.com", "purpose": "login:v1"}
    )
    assert answer.status_code == 201 and answer.json()["_tag"] == "ChallengeCreated"
    challenge = answer.json()["challenge"]
    assert set(challenge) == {
        "challengeId", "purpose", "email", "createdAt", "expiresAt", "metadata", "secret",
        "code", "message",
    }  # fmt: skip
    assert challenge["code"].isdigit() and len(challenge["code"]) == 6
    assert challenge["expiresAt"] - challenge["createdAt"] == 600_000
    assert challenge["metadata"] is None and len(challenge["secret"]) >= 32
    assert challenge["code"] in challenge["message"]["text"]
    assert f"<strong>{challenge['code']}</strong>" in challenge["message"]["html"]
    assert [c.code for c in emu.challenges] == [challenge["code"]]


def test_get_shows_no_secret_and_no_code(emu):
    challenge = create(emu, userId="u-1", metadata={"next": "/x", "n": [1, 2.5, None]})
    answer = call(emu, "GET", f"challenges/{challenge['challengeId']}")
    assert answer.json() == {
        "_tag": "Challenge",
        **{k: challenge[k] for k in ("challengeId", "purpose", "email", "createdAt")},
        "expiresAt": challenge["expiresAt"],
        "metadata": {"next": "/x", "n": [1, 2.5, None]},
        "userId": "u-1",
    }
    emu.add_tenancy("other", "other-key")
    elsewhere = call(emu, "GET", f"challenges/{challenge['challengeId']}", tenancy="other",
                     key="other-key")  # fmt: skip
    assert elsewhere.status_code == 404


BAD = {
    "empty purpose": {"purpose": ""},
    "long purpose": {"purpose": "p" * 65},
    "purpose with a space": {"purpose": "log in"},
    "purpose with a slash": {"purpose": "a/b"},
    "purpose not a string": {"purpose": 5},
    "email without @": {"email": "ada.example.com"},
    "email too short": {"email": "a@b"},
    "email without a local part": {"email": "@b.c"},
    "email with a line break where the dot goes": {"email": "a@b\nc"},
    "metadata a list": {"metadata": [1]},
    "metadata a string": {"metadata": "x"},
    "userId a number": {"userId": 5},
    "invalidateOthers a string": {"invalidateOthers": "yes"},
    "skipRateLimit a number": {"skipRateLimit": 1},
}


@pytest.mark.parametrize("change", BAD.values(), ids=BAD.keys())
def test_a_bad_request_is_refused(emu, change):
    body = {"email": "ada@example.com", "purpose": "login", **change}
    answer = call(emu, "POST", "challenges", json=body)
    assert answer.status_code == 400 and answer.json()["_tag"] == "@error/BadRequest"
    assert emu.challenges == []


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_metadata_numbers_must_be_finite(emu, number):
    data = f'{{"email": "a@b.co", "purpose": "p", "metadata": {{"n": {number}}}}}'
    answer = call(emu, "POST", "challenges", data=data)
    assert answer.status_code == 400


@pytest.mark.parametrize("email", ["a@b.co", "a@bcd", "ada@example", "a@b@c.d", "x y@z.w"])
def test_emails_are_checked_with_passlocks_own_pattern(emu, email):
    """``^[^@]+@[^@]+.[^@]+$``: its unescaped dot takes any character, even an ``@``."""
    assert create(emu, email=email, skipRateLimit=True)["email"] == email


def test_the_right_code_verifies_once(emu):
    challenge = create(emu, metadata={"k": True})
    answer = verify(emu, challenge)
    assert answer.status_code == 200
    assert answer.json()["_tag"] == "ChallengeVerified"
    assert answer.json()["challenge"]["metadata"] == {"k": True}
    assert "code" not in answer.json()["challenge"]
    again = verify(emu, challenge)
    assert again.status_code == 400 and again.json()["_tag"] == "@error/InvalidChallenge"
    assert call(emu, "GET", f"challenges/{challenge['challengeId']}").status_code == 404


def test_concurrent_verifications_let_exactly_one_through(emu):
    challenge = create(emu)
    start = threading.Barrier(8)
    tags = []

    def attempt():
        start.wait()
        tags.append(verify(emu, challenge).json()["_tag"])

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(tags) == ["@error/InvalidChallenge"] * 7 + ["ChallengeVerified"]


def test_wrong_codes_use_up_the_attempts(emu):
    challenge = create(emu)
    for _ in range(ATTEMPTS):
        answer = verify(emu, challenge, code=wrong(challenge["code"]))
        assert answer.json()["_tag"] == "@error/InvalidChallengeCode"
    last = verify(emu, challenge)
    assert last.status_code == 429 and last.json()["_tag"] == "@error/ChallengeAttemptsExceeded"


def test_a_wrong_secret_uses_up_no_attempt(emu):
    challenge = create(emu)
    for _ in range(ATTEMPTS + 2):
        answer = verify(emu, challenge, secret="not-the-secret")
        assert answer.json()["_tag"] == "@error/InvalidChallenge"
    assert verify(emu, challenge).json()["_tag"] == "ChallengeVerified"


def test_an_expired_challenge(emu):
    challenge = create(emu)
    emu.expire_challenge(challenge["challengeId"])
    answer = verify(emu, challenge)
    assert answer.status_code == 400 and answer.json()["_tag"] == "@error/ChallengeExpired"


def test_challenges_expire_after_their_ttl(emu):
    challenge = create(emu)
    assert challenge["expiresAt"] - challenge["createdAt"] == 600_000
    emu.advance_clock(599.9)
    kept = create(emu, email="kept@example.com")
    emu.advance_clock(0.2)
    assert verify(emu, challenge).json()["_tag"] == "@error/ChallengeExpired"
    assert verify(emu, kept).json()["_tag"] == "ChallengeVerified"


def test_the_rate_limit_per_email(emu):
    for _ in range(RATE_LIMIT):
        create(emu, email="busy@example.com")
    limited = create(emu, email="busy@example.com", status=429)
    assert limited["_tag"] == "@error/ChallengeRateLimited" and limited["message"]
    assert isinstance(limited["retryAfterSeconds"], int)
    assert 0 < limited["retryAfterSeconds"] <= RATE_WINDOW
    create(emu, email="BUSY@example.com", status=429)
    create(emu, email="calm@example.com")
    create(emu, email="busy@example.com", skipRateLimit=True)


def test_the_rate_limit_per_user_id(emu):
    create(emu, email="a@example.com", userId="u-1")
    create(emu, email="b@example.com", userId="u-1")
    create(emu, email="c@example.com", userId="u-1", status=429)
    create(emu, email="c@example.com", userId="u-2")


def test_the_rate_limit_window_passes(emu):
    for _ in range(RATE_LIMIT):
        create(emu)
    assert create(emu, status=429)["retryAfterSeconds"] == RATE_WINDOW
    emu.advance_clock(RATE_WINDOW - 10)
    assert create(emu, status=429)["retryAfterSeconds"] == 10
    emu.advance_clock(10.1)
    create(emu)


def pending(emulator):
    return sorted((c.email, c.purpose, c.user_id) for c in emulator.challenges)


def test_invalidate_others_by_user_id(emu):
    create(emu, email="a@example.com", purpose="reset", userId="u-1")
    create(emu, email="b@example.com", purpose="login", userId="u-1")
    create(emu, email="a@example.com", purpose="reset", userId="u-2")
    create(
        emu, email="c@example.com", purpose="reset", userId="u-1", invalidateOthers=True,
        skipRateLimit=True,
    )  # fmt: skip
    assert pending(emu) == [
        ("a@example.com", "reset", "u-2"),
        ("b@example.com", "login", "u-1"),
        ("c@example.com", "reset", "u-1"),
    ]


def test_invalidate_others_by_email(emu):
    create(emu, email="a@example.com", purpose="reset")
    create(emu, email="a@example.com", purpose="login")
    create(emu, email="b@example.com", purpose="reset")
    create(emu, email="a@example.com", purpose="reset", invalidateOthers=True, skipRateLimit=True)
    assert pending(emu) == [
        ("a@example.com", "login", None),
        ("a@example.com", "reset", None),
        ("b@example.com", "reset", None),
    ]


def test_delete(emu):
    challenge = create(emu)
    answer = call(emu, "DELETE", f"challenges/{challenge['challengeId']}")
    assert answer.status_code == 202 and answer.json() == {"_tag": "ChallengeDeleted"}
    assert emu.challenges == []
    assert call(emu, "DELETE", "challenges/unknown").json() == {"_tag": "ChallengeDeleted"}


@pytest.mark.parametrize(
    "method, path", [("POST", "challenges"), ("GET", "challenges/x"),
                     ("POST", "challenges/verify"), ("DELETE", "challenges/x")],
)  # fmt: skip
def test_every_challenge_route_needs_the_api_key(emu, method, path):
    answer = call(emu, method, path, key="wrong", json={})
    assert answer.status_code == 403 and answer.json()["_tag"] == "@error/Forbidden"


def test_expire_an_unknown_challenge(emu):
    with pytest.raises(KeyError):
        emu.expire_challenge("nope")


def test_a_challenge_refused_by_the_server_library_shape(emu):
    """The body of a refusal is what @passlock/server decodes: no extra wrapping."""
    answer = requests.post(
        f"{emu.url}{emu.tenancy_id}/challenges",
        json={"email": "x@y.zz", "purpose": "login"},
        headers={"Authorization": "Bearer wrong"},
        timeout=5,
    )
    assert answer.json() == {"_tag": "@error/Forbidden", "message": "Forbidden"}
