"""Reading the code exchange's ExtendedPrincipal: every field, and why a wrong one is refused."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from flask_passlock import MalformedResponse
from flask_passlock._json import (
    MAX_ID_LENGTH,
    boolean,
    epoch_ms,
    loads,
    mapping,
    optional_text,
    text,
)
from flask_passlock.principal import PasskeyDetails, Principal

CREATED = 1_800_000_000_123
EXPIRES = 1_800_000_300_456


def answer(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "_tag": "ExtendedPrincipal",
        "id": "principal-1",
        "authenticatorId": "passkey-1",
        "authenticatorType": "passkey",
        "createdAt": CREATED,
        "expiresAt": EXPIRES,
        "userId": "user-1",
        "passkey": {"userVerified": True, "verified": True, "platformName": "iCloud Keychain"},
        "metadata": {"ipAddress": "192.0.2.1", "userAgent": "Browser/1.0"},
        "unknown": {"kept": True},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not DROP}


DROP = object()


def refusal(data: object) -> str | None:
    with pytest.raises(MalformedResponse) as info:
        Principal.from_json(data)
    assert info.value.code == "malformed_response"
    return info.value.reason


def test_every_field_is_read():
    principal = Principal.from_json(answer())
    assert principal == Principal(
        id="principal-1",
        authenticator_id="passkey-1",
        authenticator_type="passkey",
        user_id="user-1",
        created_at=datetime(2027, 1, 15, 8, 0, 0, 123000, tzinfo=timezone.utc),
        expires_at=datetime(2027, 1, 15, 8, 5, 0, 456000, tzinfo=timezone.utc),
        passkey=PasskeyDetails(user_verified=True, verified=True, platform_name="iCloud Keychain"),
        ip_address="192.0.2.1",
        user_agent="Browser/1.0",
    )
    assert principal.created_at.tzinfo is timezone.utc
    assert principal.expires_at.tzinfo is timezone.utc
    assert principal.raw == answer()
    assert principal.user_verified is True
    assert principal.platform_name == "iCloud Keychain"


@pytest.mark.parametrize(
    "passkey, user_verified, platform",
    [
        (DROP, False, None),
        (None, False, None),
        ({"userVerified": False, "verified": True}, False, None),
        ({"userVerified": True, "verified": False, "platformName": None}, True, None),
        ({"userVerified": True, "verified": True, "platformName": "Android"}, True, "Android"),
    ],
    ids=["absent", "null", "not verified by the user", "no platform", "platform"],
)
def test_the_passkey_part_is_optional(passkey, user_verified, platform):
    principal = Principal.from_json(answer(passkey=passkey))
    assert principal.user_verified is user_verified
    assert principal.platform_name == platform
    if passkey in (DROP, None):
        assert principal.passkey is None
    else:
        assert principal.passkey == PasskeyDetails(
            user_verified=passkey["userVerified"],
            verified=passkey["verified"],
            platform_name=passkey.get("platformName"),
        )


def test_metadata_keys_are_optional():
    principal = Principal.from_json(answer(metadata={}))
    assert (principal.ip_address, principal.user_agent) == (None, None)


def test_longest_ids_are_accepted():
    longest = "i" * MAX_ID_LENGTH
    principal = Principal.from_json(answer(id=longest, authenticatorId=longest, userId=longest))
    assert principal.id == principal.authenticator_id == principal.user_id == longest


REFUSALS = {
    "not an object": ([answer()], "Passlock's answer has no 'principal' object."),
    "null": (None, "Passlock's answer has no 'principal' object."),
    "no tag": (answer(_tag=DROP), "Passlock's answer is not an ExtendedPrincipal."),
    "other tag": (answer(_tag="Principal"), "Passlock's answer is not an ExtendedPrincipal."),
    "no id": (answer(id=DROP), "Passlock's answer has no 'id' string."),
    "empty id": (answer(id=""), "Passlock's answer has no 'id' string."),
    "id a number": (answer(id=5), "Passlock's answer has no 'id' string."),
    "overlong id": (answer(id="i" * 256), "Passlock's answer has an overlong 'id'."),
    "no authenticatorId": (
        answer(authenticatorId=DROP),
        "Passlock's answer has no 'authenticatorId' string.",
    ),
    "overlong authenticatorId": (
        answer(authenticatorId="p" * 256),
        "Passlock's answer has an overlong 'authenticatorId'.",
    ),
    "no authenticatorType": (
        answer(authenticatorType=DROP),
        "Passlock's answer has no 'authenticatorType' string.",
    ),
    "no userId": (answer(userId=DROP), "Passlock's answer has no 'userId' string."),
    "no createdAt": (answer(createdAt=DROP), "Passlock's answer has no 'createdAt' timestamp."),
    "createdAt a string": (
        answer(createdAt=str(CREATED)),
        "Passlock's answer has no 'createdAt' timestamp.",
    ),
    "createdAt a boolean": (
        answer(createdAt=True),
        "Passlock's answer has no 'createdAt' timestamp.",
    ),
    "expiresAt out of range": (
        answer(expiresAt=10**20),
        "Passlock's answer has an out-of-range 'expiresAt'.",
    ),
    "expiresAt infinite": (
        answer(expiresAt=float("inf")),
        "Passlock's answer has an out-of-range 'expiresAt'.",
    ),
    "passkey a list": (answer(passkey=[]), "Passlock's answer has no 'passkey' object."),
    "passkey without userVerified": (
        answer(passkey={"verified": True}),
        "Passlock's answer has no 'userVerified' boolean.",
    ),
    "userVerified a string": (
        answer(passkey={"userVerified": "true", "verified": True}),
        "Passlock's answer has no 'userVerified' boolean.",
    ),
    "verified a number": (
        answer(passkey={"userVerified": True, "verified": 1}),
        "Passlock's answer has no 'verified' boolean.",
    ),
    "platformName a number": (
        answer(passkey={"userVerified": True, "verified": True, "platformName": 5}),
        "Passlock's answer has a non-string 'platformName'.",
    ),
    "no metadata": (answer(metadata=DROP), "Passlock's answer has no 'metadata' object."),
    "metadata null": (answer(metadata=None), "Passlock's answer has no 'metadata' object."),
    "ipAddress a list": (
        answer(metadata={"ipAddress": ["x"]}),
        "Passlock's answer has a non-string 'ipAddress'.",
    ),
    "userAgent a number": (
        answer(metadata={"userAgent": 5}),
        "Passlock's answer has a non-string 'userAgent'.",
    ),
}


@pytest.mark.parametrize("data, reason", REFUSALS.values(), ids=REFUSALS.keys())
def test_why_an_answer_is_refused(data, reason):
    assert refusal(data) == reason


def test_the_json_helpers_alone():
    assert loads(b'{"a": [1]}') == {"a": [1]}
    with pytest.raises(ValueError, match="^JSON nested too deeply$"):
        loads("[" * 5000 + "]" * 5000)
    with pytest.raises(ValueError):
        loads(b"<html>")
    assert mapping({"a": 1}, "x") == {"a": 1}
    assert text({"k": "v" * 300}, "k", None) == "v" * 300  # no cap
    assert text({"k": "v" * 10}, "k", 10) == "v" * 10
    with pytest.raises(MalformedResponse, match="overlong 'k'"):
        text({"k": "v" * 11}, "k", 10)
    assert optional_text({}, "k") is None
    assert optional_text({"k": ""}, "k") == ""
    assert boolean({"k": False}, "k") is False
    assert epoch_ms({"k": 1500}, "k") == datetime(1970, 1, 1, 0, 0, 1, 500000, timezone.utc)
    assert epoch_ms({"k": 0.5}, "k") == datetime(1970, 1, 1, 0, 0, 0, 500, timezone.utc)
